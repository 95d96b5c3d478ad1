/**
 * A hostile guest (and a careless VMM passing the guest's numbers through) against MsiEmulator:
 * config reads and writes of every width (0-8, fractional, NaN, negative) at every kind of offset
 * (every byte of every layout, beyond the end, negative, NaN, ±Infinity, fractional, past 2^53,
 * 2^32 aliases), with any value (any u32, negative int32, NaN, huge, fractional, any bigint, and
 * things that are not numbers at all), interleaved with device raises on both paths and raises of
 * vectors that do not exist, for every layout and vector count. After every access:
 * - nothing threw;
 * - the read-only fields read as the layout says (ID, next pointer, MMC, 64-bit and masking
 *   capability bits, reserved Control bits 15:9, Address bits 1:0, padding, Mask bits of vectors
 *   that do not exist, every byte past the end), and MME never exceeds MMC;
 * - an access outside the capability, or a refused one, changed nothing; every refused argument
 *   was reported exactly once, as INVALID_ARGUMENT;
 * - every delivery came from a granted, unmasked vector of an enabled function, with that vector's
 *   message, valid under the policy; no route was misused.
 *
 * The PRNG is seeded (TSVMM_FUZZ_SEED overrides) so a failure names a reproducible step; the
 * amount of work is fixed, not timed. TSVMM_LONG_PROPERTY=1 runs ten times as many steps.
 */
import type { VirtError} from '@tsvmm/virt';
import { DEFAULT_MSI_POLICY, validateMsi } from '@tsvmm/virt';
import { seededRandom } from '@tsvmm/virt/testing';
import { MsiEmulator } from '../src';
import { FakeRouteSet } from './support/fake-routes';

const SEED = Number(process.env.TSVMM_FUZZ_SEED ?? 0x4d51_f0e5);
const STEPS = (process.env.TSVMM_LONG_PROPERTY === '1' ? 10 : 1) * 3_000;
const WEIRD_NUMBERS = [NaN, Infinity, -Infinity, -1, -0, 0.5, 1.5, 2 ** 32, 2 ** 32 + 2, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE];
const NOT_NUMBERS: unknown[] = [null, undefined, '4', {}, [], Symbol('x'), () => 4, { valueOf: () => 4 }, new Uint8Array(4)];

/** The spec's image facts, independent of the emulator: sizes and fixed bytes per layout. */
function facts(vectors: number, address64: boolean, masking: boolean, next: number) {
  const size = 10 + (address64 ? 4 : 0) + (masking ? 10 : 0);
  const dataAt = address64 ? 12 : 8;
  const mmc = Math.log2(vectors);
  return { size, dataAt, maskAt: masking ? dataAt + 4 : -1, mmc, id: 0x05, next, fixedControl: (mmc << 1) | (address64 ? 0x80 : 0) | (masking ? 0x100 : 0) };
}

function fuzz(vectors: number, address64: boolean, masking: boolean, routed: boolean, seed: number): void {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const next = int(256);
  const f = facts(vectors, address64, masking, next);
  const fake = new FakeRouteSet(vectors, DEFAULT_MSI_POLICY);
  const errors: VirtError[] = [];
  const emu = new MsiEmulator({
    vectors,
    address64,
    perVectorMasking: masking,
    nextPointer: next,
    requestMsi: fake.inject,
    onError: (e) => errors.push(e as VirtError),
  });
  if (routed) emu.setRoutes(fake.routes, { batch: fake.batch });
  const image = () => Array.from({ length: 0x20 }, (_, i) => emu.configRead(i, 1));
  /**
   * Draws `int(n)`: 0 gives a weird number, 1 something that is not a number, 2 and up the caller's
   * `choices` in order, and whatever is left `otherwise`.
   */
  const hostile = (n: number, choices: readonly (() => unknown)[], otherwise: () => unknown): unknown => {
    const k = int(n);
    if (k === 0) return pick(WEIRD_NUMBERS);
    if (k === 1) return pick(NOT_NUMBERS);
    return k - 2 < choices.length ? choices[k - 2]!() : otherwise();
  };
  const offset = (): unknown => hostile(8, [() => f.size + int(64), () => -1 - int(4)], () => int(f.size + 2));
  const size = (): unknown => (int(6) === 0 ? pick([0, 5, 8, -1, 1.5, NaN, Infinity, ...NOT_NUMBERS]) : 1 + int(4));
  const value = (): unknown =>
    hostile(
      10,
      [
        () => pick([0n, 0xffffffffn, 0x1_0000_0000n, -1n, BigInt(int(2 ** 32))]),
        () => (0x80 << 24) | int(0x100), // a negative int32: the same 32 bits
        () => (0xfee00000 | (int(4) << 12)) >>> 0,
        () => int(0x80) | 1, // Enable with some MME
      ],
      () => Math.floor(rnd() * 2 ** 32),
    );
  const isDword = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= -0x8000_0000 && v <= 0xffffffff) || (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffn);

  let expectedRefusals = 0;
  for (let step = 0; step < STEPS; step++) {
    const before = image();
    const errorsBefore = errors.length;
    const kind = int(10);
    let desc = '';
    let changesNothing = false;
    let refused = false;
    try {
      if (kind < 5) {
        const o = offset();
        const s = size();
        const v = value();
        desc = `configWrite(${String(o)}, ${String(s)}, ${typeof v === 'symbol' ? 'symbol' : String(v)})`;
        refused = typeof o !== 'number' || typeof s !== 'number' || !isDword(v);
        const inside = typeof o === 'number' && typeof s === 'number' && Number.isInteger(o) && Number.isInteger(s) && s >= 1 && s <= 4 && o + s > 0 && o < f.size;
        changesNothing = refused || !inside;
        emu.configWrite(o as number, s as number, v as number);
      } else if (kind < 8) {
        const o = offset();
        const s = size();
        desc = `configRead(${String(o)}, ${String(s)})`;
        refused = typeof o !== 'number' || typeof s !== 'number';
        const r = emu.configRead(o as number, s as number);
        if (!(Number.isInteger(r) && r >= 0 && r <= 0xffffffff)) throw new Error(`${desc} returned ${r}`);
        if (refused && r !== 0) throw new Error(`${desc} refused but returned ${r}`);
        const outside = typeof o === 'number' && typeof s === 'number' && (o + s <= 0 || o >= f.size);
        if (outside && r !== 0) throw new Error(`${desc} is outside the capability but returned ${r}`);
        changesNothing = true;
      } else if (kind === 8) {
        const v = pick([-1, vectors, 32, 64, NaN, 0.5, 2 ** 53, int(vectors)]);
        desc = `signal(${v})`;
        const sent = emu.signal(v);
        if (sent && !(Number.isInteger(v) && v >= 0 && v < emu.liveVectors)) throw new Error(`${desc} sent a vector that is not granted`);
      } else if (routed) {
        const v = int(vectors);
        desc = `device raises ${v} on its event`;
        fake.routes[v]!.deviceSignal();
      }
    } catch (e) {
      throw new Error(`seed ${seed} step ${step}: ${desc} threw ${(e as Error).message}`);
    }
    const where = `seed ${seed} step ${step} (${desc})`;
    if (refused) expectedRefusals++;
    const newErrors = errors.slice(errorsBefore);
    const refusals = newErrors.filter((e) => e.code === 'INVALID_ARGUMENT');
    if (refusals.length !== (refused ? 1 : 0)) throw new Error(`${where}: ${refusals.length} INVALID_ARGUMENT reports, expected ${refused ? 1 : 0}`);
    const after = image();
    if (changesNothing && JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`${where}: changed the image ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    // Read-only fields.
    const control = after[2]! | (after[3]! << 8);
    const mme = (control >> 4) & 7;
    const fixed = [
      [after[0], f.id, 'ID'],
      [after[1], f.next, 'next pointer'],
      [control & 0xff8e, f.fixedControl, 'read-only Control bits'],
      [after[4]! & 3, 0, 'Address bits 1:0'],
      [mme <= f.mmc ? 1 : 0, 1, 'MME <= MMC'],
      [after[f.dataAt + 2], 0, 'padding after Data'],
      [after[f.dataAt + 3], 0, 'padding after Data'],
    ] as const;
    for (const [got, want, what] of fixed) if (got !== want) throw new Error(`${where}: ${what} reads ${got}, expected ${want}`);
    for (let i = f.size; i < 0x20; i++) if (after[i] !== 0) throw new Error(`${where}: byte ${i} past the end reads ${after[i]}`);
    if (f.maskAt >= 0) {
      const maskBits = (after[f.maskAt]! | (after[f.maskAt + 1]! << 8) | (after[f.maskAt + 2]! << 16) | (after[f.maskAt + 3]! << 24)) >>> 0;
      const pending = (after[f.maskAt + 4]! | (after[f.maskAt + 5]! << 8) | (after[f.maskAt + 6]! << 16) | (after[f.maskAt + 7]! << 24)) >>> 0;
      if (vectors < 32 && maskBits >>> vectors !== 0) throw new Error(`${where}: Mask bits of vectors that do not exist are set: ${maskBits.toString(16)}`);
      if (pending >>> 0 >= 2 ** (1 << mme)) throw new Error(`${where}: Pending bits of vectors not granted: ${pending.toString(16)}`);
    }
    // Deliveries: granted, unmasked vectors of an enabled function, with their own valid message,
    // all read from the image the guest sees (not from the emulator's own view of itself).
    const word = (at: number) => (after[at]! | (after[at + 1]! << 8) | (after[at + 2]! << 16) | (after[at + 3]! << 24)) >>> 0;
    const granted = 1 << mme;
    const maskBits = f.maskAt >= 0 ? word(f.maskAt) : 0;
    const data = after[f.dataAt]! | (after[f.dataAt + 1]! << 8);
    for (const d of fake.take()) {
      if ((control & 1) === 0) throw new Error(`${where}: delivered while MSI Enable is 0`);
      if (d.via === 'route') {
        if (!(d.vector < granted)) throw new Error(`${where}: vector ${d.vector} delivered but only ${granted} are granted`);
        if (((maskBits >>> d.vector) & 1) === 1) throw new Error(`${where}: masked vector ${d.vector} delivered`);
        const want = { lo: word(4), hi: address64 ? word(8) : 0, data: (data & ~(granted - 1)) | d.vector };
        if (d.data !== want.data || d.lo !== want.lo || d.hi !== want.hi) throw new Error(`${where}: vector ${d.vector} delivered ${JSON.stringify(d)}, its message is ${JSON.stringify(want)}`);
      }
      validateMsi('fuzz', { addressLo: d.lo, addressHi: d.hi, data: d.data }, DEFAULT_MSI_POLICY);
    }
    if (fake.violations.length > 0) throw new Error(`${where}: route misuse: ${fake.violations.join('; ')}`);
  }
  expect(errors.filter((e) => e.code === 'INVALID_ARGUMENT').length).toBe(expectedRefusals);
  expect(expectedRefusals).toBeGreaterThan(0);
}

describe('MsiEmulator under a hostile guest', () => {
  for (const vectors of [1, 2, 4, 8, 16, 32]) {
    for (const address64 of [false, true]) {
      for (const masking of [false, true]) {
        const name = `${vectors} vector(s), ${address64 ? '64' : '32'}-bit, ${masking ? 'per-vector masking' : 'no masking'}`;
        it(`${name}: nothing throws, read-only bits hold, only granted unmasked vectors deliver`, () => {
          fuzz(vectors, address64, masking, true, SEED + vectors * 4 + (address64 ? 2 : 0) + (masking ? 1 : 0));
          fuzz(vectors, address64, masking, false, SEED + 1000 + vectors);
        });
      }
    }
  }
});
