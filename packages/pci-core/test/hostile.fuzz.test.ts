/**
 * A hostile guest (and a careless VMM passing the guest's numbers through): random accesses of
 * every size (0, 1-16, 4096, 1 MiB), at every kind of offset (each BAR, every field of every
 * entry, straddling the table/PBA edges, beyond the end, negative, NaN, ±Infinity, fractional,
 * past 2^53, aliases 2^32 away), with any value (any u32, negative, NaN, huge, fractional, any
 * bigint), config accesses of every width at every offset, and signals of vectors that do not
 * exist, for every vector count 1-2048 and layouts where the table and the PBA share a BAR with
 * the device's other registers. After every access:
 * - nothing threw;
 * - no byte of the caller's buffer outside the table/PBA bytes changed (canaries around a
 *   subarray view, and the device's own register bytes inside it);
 * - an access that claims no byte of the table or PBA changed nothing and called no route;
 * - no route was misused (draining an armed route, calls after detaching) and every delivery came
 *   from a vector that exists and is unmasked, with a message its route or the policy accepts.
 *
 * The PRNG is seeded (TSVMM_FUZZ_SEED overrides) so a failure names a reproducible step; the
 * amount of work is fixed, not timed. TSVMM_LONG_PROPERTY=1 runs ten times as many steps.
 */
import { DEFAULT_MSI_POLICY, validateMsi } from '@tsvmm/virt';
import { MsixEmulator } from '../src';
import { FakeRouteSet } from './support/fake-routes';
import { seededRandom } from '@tsvmm/virt/testing';

const SEED = Number(process.env.TSVMM_FUZZ_SEED ?? 0x5eed_4d5e);
const SCALE = process.env.TSVMM_LONG_PROPERTY === '1' ? 10 : 1;


interface Layout {
  readonly vectors: number;
  readonly tBar: number;
  readonly tOff: number;
  readonly pBar: number;
  readonly pOff: number;
  /** The device's own registers: [offset, length) in BAR `bar`, which the emulator must never claim. */
  readonly regs: readonly { bar: number; off: number; len: number }[];
}

/** Layout kinds: shared BAR with registers around and between, adjacent, PBA first, apart, high. */
function layoutFor(vectors: number, kind: number): Layout {
  const tSize = vectors * 16;
  const pSize = Math.ceil(vectors / 64) * 8;
  switch (kind % 5) {
    case 0: // registers, table, registers, PBA, registers: all in BAR 0
      return {
        vectors,
        tBar: 0,
        tOff: 0x40,
        pBar: 0,
        pOff: 0x40 + tSize + 0x18,
        regs: [
          { bar: 0, off: 0, len: 0x40 },
          { bar: 0, off: 0x40 + tSize, len: 0x18 },
          { bar: 0, off: 0x40 + tSize + 0x18 + pSize, len: 0x40 },
        ],
      };
    case 1: // table at 0 and the PBA right after it, registers after both
      return { vectors, tBar: 2, tOff: 0, pBar: 2, pOff: tSize, regs: [{ bar: 2, off: tSize + pSize, len: 0x20 }] };
    case 2: // PBA first, the table right after it, in BAR 5
      return { vectors, tBar: 5, tOff: pSize, pBar: 5, pOff: 0, regs: [{ bar: 5, off: pSize + tSize, len: 0x10 }] };
    case 3: // separate BARs, each shared with registers
      return {
        vectors,
        tBar: 1,
        tOff: 0x1000,
        pBar: 4,
        pOff: 0x8,
        regs: [
          { bar: 1, off: 0xff8, len: 8 },
          { bar: 1, off: 0x1000 + tSize, len: 8 },
          { bar: 4, off: 0, len: 8 },
          { bar: 4, off: 0x8 + pSize, len: 8 },
        ],
      };
    default: // the highest offsets the capability can describe
      return { vectors, tBar: 3, tOff: 0xffff_fff8 - pSize - tSize, pBar: 3, pOff: 0xffff_fff8 - pSize, regs: [{ bar: 3, off: 0xffff_fff8, len: 8 }] };
  }
}

/** An independent "is this byte the emulator's": the spec's sizes, nothing from the emulator. */
function owns(l: Layout, bar: number, a: number): boolean {
  return (
    (bar === l.tBar && a >= l.tOff && a < l.tOff + l.vectors * 16) ||
    (bar === l.pBar && a >= l.pOff && a < l.pOff + Math.ceil(l.vectors / 64) * 8)
  );
}

const HUGE = new Uint8Array(1 << 20);
const WEIRD_NUMBERS = [NaN, Infinity, -Infinity, -1, -0, 0.5, 1.5, -(2 ** 31), 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON];

/** A DWORD the emulator takes: 0-0xFFFFFFFF, or a negative int32 (the same 32 bits). */
const isU32 = (v: number): boolean => Number.isInteger(v) && v >= -0x8000_0000 && v <= 0xffffffff;

class Fuzzer {
  readonly emu: MsixEmulator;
  readonly fake: FakeRouteSet;
  readonly errors: string[] = [];
  /** Accesses given a value the VMM side may not pass (not a DWORD or QWORD): each must be refused once. */
  refusals = 0;
  private readonly sizes: number[];

  constructor(
    readonly l: Layout,
    readonly rnd: () => number,
    readonly routeMode: 'all' | 'none' | 'some',
  ) {
    const hasRoute = (v: number) => routeMode === 'all' || (routeMode === 'some' && v % 2 === 0);
    this.fake = new FakeRouteSet(l.vectors, DEFAULT_MSI_POLICY, hasRoute);
    this.emu = new MsixEmulator({
      vectors: l.vectors,
      table: { bir: l.tBar, offset: l.tOff },
      pba: { bir: l.pBar, offset: l.pOff },
      requestMsi: this.fake.inject,
      onError: (e) => this.errors.push(e.message),
    });
    if (routeMode !== 'none') this.emu.setRoutes(this.fake.forEmulator, { batch: this.fake.batch });
    this.sizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 4096];
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A u32 a guest would write: mostly plausible MSI fields, often garbage. */
  u32(): number {
    switch (this.int(6)) {
      case 0:
        return (0xfee00000 | (this.int(4) << 12)) >>> 0;
      case 1:
        return 16 + this.int(240);
      case 2:
        return this.pick([0, 1, 0xfffffffe, 0xffffffff]);
      default:
        return Math.floor(this.rnd() * 2 ** 32);
    }
  }

  /** Any number a VMM might pass through: mostly u32, sometimes out of range or not an integer. */
  value(): number {
    return this.int(5) === 0 ? this.pick(WEIRD_NUMBERS) : this.u32();
  }

  bar(): number {
    const r = this.int(10);
    if (r < 4) return this.l.tBar;
    if (r < 7) return this.l.pBar;
    if (r < 9) return this.int(8);
    return this.pick([-1, NaN, 1.5, Infinity, 2 ** 32, -0]);
  }

  offset(bar: number): number {
    const l = this.l;
    const tEnd = l.tOff + l.vectors * 16;
    const pEnd = l.pOff + Math.ceil(l.vectors / 64) * 8;
    switch (this.int(9)) {
      case 0:
      case 1:
      case 2: // a field of an entry, possibly misaligned
        return l.tOff + this.int(l.vectors) * 16 + this.int(4) * 4 + (this.int(4) === 0 ? this.int(8) - 4 : 0);
      case 3: // around the edges of either structure
        return this.pick([l.tOff, tEnd, l.pOff, pEnd]) + this.int(33) - 16;
      case 4:
        return l.pOff + this.int(Math.ceil(l.vectors / 64) * 8 + 8) - 4;
      case 5: // a device register
        return this.pick(l.regs.filter((r) => r.bar === bar).concat(l.regs)).off + this.int(8);
      case 6: // aliases 2^32 away, and offsets no BAR has
        return this.pick([l.tOff + 2 ** 32, l.tOff - 2 ** 32, l.pOff + 2 ** 32, 2 ** 53 - 8, 2 ** 64]) + this.int(16);
      case 7:
        return this.pick(WEIRD_NUMBERS) + (this.int(2) === 0 ? l.tOff : 0);
      default:
        return this.int(tEnd + 64);
    }
  }

  bigint(): bigint {
    switch (this.int(4)) {
      case 0:
        return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
      case 1:
        return -BigInt(this.u32()) * 0x1_0000_0001n;
      case 2:
        return 2n ** BigInt(64 + this.int(200)) + BigInt(this.u32());
      default:
        return BigInt(this.u32());
    }
  }

  /** A buffer of `size` bytes as a subarray view with canaries around it, or a Buffer, or 1 MiB. */
  buffer(size: number): { view: Uint8Array; backing: Uint8Array; at: number } {
    if (this.int(400) === 0) return { view: HUGE, backing: HUGE, at: 0 };
    const at = 8 + this.int(8);
    const backing = this.int(4) === 0 ? Buffer.alloc(size + at + 8, 0xa5) : new Uint8Array(size + at + 8).fill(0xa5);
    for (let i = 0; i < size; i++) backing[at + i] = this.int(256);
    return { view: backing.subarray(at, at + size), backing, at };
  }

  /** The table and control state (a cheap view: a few vectors plus the control bits). */
  fingerprint(vectors: readonly number[]): string {
    return JSON.stringify([this.emu.enabled, this.emu.functionMasked, vectors.map((v) => this.emu.entry(v))]);
  }

  step(where: string): void {
    const emu = this.emu;
    const l = this.l;
    const bar = this.bar();
    const off = this.offset(bar);
    const size = this.pick(this.sizes);
    const near = Number.isSafeInteger(off) ? Math.floor((off - l.tOff) / 16) : 0;
    const watch = [...new Set([0, l.vectors - 1, this.int(l.vectors), near - 1, near, near + 1].filter((v) => v >= 0 && v < l.vectors))];
    const before = this.fingerprint(watch);
    const entriesBefore = watch.map((v) => JSON.stringify(this.emu.entry(v)));
    this.fake.calls.length = 0;
    this.fake.take();
    let claimed = false;
    let len = size;
    const kind = this.int(12);
    const desc = () => `${where}: kind ${kind} bar ${bar} offset ${off} size ${len}`;
    const claimsIndependently = (n: number) => {
      if (!Number.isSafeInteger(off)) return false;
      for (let i = 0; i < Math.min(n, 64); i++) if (owns(l, bar, off + i)) return true;
      for (let i = 64; i < n; i++) if (owns(l, bar, off + i)) return true;
      return false;
    };
    try {
      switch (kind) {
        case 0:
        case 1: {
          const { view, backing, at } = this.buffer(size);
          len = view.length;
          const copy = backing.slice();
          claimed = emu.read(bar, off, view);
          if (claimed !== claimsIndependently(len)) throw new Error(`${desc()}: read() returned ${claimed}`);
          for (let i = 0; i < backing.length; i++) {
            const inView = i >= at && i < at + len;
            if (backing[i] !== copy[i] && !(inView && Number.isSafeInteger(off) && owns(l, bar, off + i - at))) {
              throw new Error(`${desc()}: read changed byte ${i - at} of the caller's buffer, which is not the emulator's`);
            }
          }
          if (view === HUGE) HUGE.fill(0);
          break;
        }
        case 2:
        case 3: {
          const { view } = this.buffer(size);
          len = view.length;
          claimed = emu.write(bar, off, view);
          if (claimed !== claimsIndependently(len)) throw new Error(`${desc()}: write() returned ${claimed}`);
          if (view === HUGE) HUGE.fill(0);
          break;
        }
        case 4:
          len = 4;
          claimed = claimsIndependently(4);
          if (emu.read32(bar, off) !== 0 && !claimed) throw new Error(`${desc()}: read32 outside the table and PBA read nonzero`);
          break;
        case 5:
          len = 4;
          {
            const value = this.value();
            if (!isU32(value)) this.refusals++;
            emu.write32(bar, off, value);
          }
          claimed = claimsIndependently(4);
          break;
        case 6:
          len = 8;
          claimed = claimsIndependently(8);
          if (emu.read64(bar, off) !== 0n && !claimed) throw new Error(`${desc()}: read64 outside the table and PBA read nonzero`);
          break;
        case 7:
          len = 8;
          if (this.int(2) === 0) {
            const value = this.bigint();
            if (!(value >= 0n && value < 2n ** 64n)) this.refusals++;
            emu.write64(bar, off, value);
          } else {
            const lo = this.value();
            const hi = this.value();
            if (!isU32(lo) || !isU32(hi)) this.refusals++;
            emu.write64Halves(bar, off, lo, hi);
          }
          claimed = claimsIndependently(8);
          break;
        case 8: {
          // Config space: every width (and nonsense ones) at every offset (and nonsense ones).
          const cOff = this.int(4) === 0 ? this.pick(WEIRD_NUMBERS) : this.int(24) - 6;
          const cSize = this.int(4) === 0 ? this.pick([...WEIRD_NUMBERS, 0, 5, 8, 3]) : 1 + this.int(4);
          len = cSize;
          const r = emu.configRead(cOff, cSize);
          if (!(Number.isInteger(r) && r >= 0 && r <= 0xffffffff)) throw new Error(`${desc()}: configRead returned ${r}`);
          const value = this.int(3) === 0 ? this.value() : (this.pick([0x80, 0xc0, 0x40, 0]) << (8 * this.int(4))) >>> 0;
          if (!isU32(value)) this.refusals++;
          emu.configWrite(cOff, cSize, value);
          claimed = true;
          break;
        }
        case 9: {
          const v = this.int(3) === 0 ? this.pick([-1, l.vectors, l.vectors + 1, 2048, NaN, 0.5, 2 ** 32, -0]) : this.int(l.vectors);
          const sent = emu.signal(v);
          if (!(Number.isInteger(v) && v >= 0 && v < l.vectors) && sent) throw new Error(`${desc()}: signal(${v}) of a vector that does not exist was sent`);
          claimed = Number.isInteger(v) && v >= 0 && v < l.vectors;
          break;
        }
        case 10: {
          // The device model's dispatch helpers with any length, against the independent layout.
          const n = this.pick([...this.sizes, -1, NaN, 0.5, Infinity, 2 ** 40]);
          len = n;
          const c = emu.claims(bar, off, n);
          const small = Number.isSafeInteger(n) && n > 0 && n <= 4096;
          if (small && c !== claimsIndependently(n)) throw new Error(`${desc()}: claims() says ${c}`);
          if (!(n > 0) && c) throw new Error(`${desc()}: claims() of an empty access`);
          const r = emu.region(bar, off);
          const want = Number.isSafeInteger(off) && owns(l, bar, off) ? (bar === l.tBar && off >= l.tOff && off < l.tOff + l.vectors * 16 ? 'table' : 'pba') : undefined;
          if (r !== want) throw new Error(`${desc()}: region() says ${r}, the layout ${want}`);
          break;
        }
        default: {
          // A device signalling a route's event directly (the kernel path).
          const v = this.int(l.vectors);
          if (this.fake.present[v] && this.routeMode !== 'none') this.fake.routes[v]!.deviceSignal();
          claimed = true;
          break;
        }
      }
    } catch (e) {
      throw new Error(`${desc()}: threw ${String(e)}`);
    }
    // Whatever the access, an entry it did not write is unchanged (reads, config, signals write none).
    const writes = kind === 2 || kind === 3 || kind === 5 || kind === 7;
    for (const v of watch) {
      const covered = writes && Number.isSafeInteger(off) && bar === l.tBar && off < l.tOff + 16 * (v + 1) && off + len > l.tOff + 16 * v;
      if (!covered && JSON.stringify(this.emu.entry(v)) !== entriesBefore[watch.indexOf(v)]) {
        throw new Error(`${desc()}: entry ${v}, which the access did not write, changed`);
      }
    }
    if (!claimed && kind !== 10) {
      const staged = (emu as unknown as { stagedVector: number }).stagedVector >= 0;
      if (this.fingerprint(watch) !== before) throw new Error(`${desc()}: an access outside the table and PBA changed the emulator`);
      // A staged address completes on any operation (documented): only that may touch a route.
      if (!staged && this.fake.calls.length > 0) throw new Error(`${desc()}: an access outside the table and PBA called routes: ${JSON.stringify(this.fake.calls)}`);
    }
    if (this.fake.violations.length > 0) throw new Error(`${desc()}: route misuse ${JSON.stringify(this.fake.violations)}`);
    for (const d of this.fake.take()) {
      if (d.via === 'route') {
        if (!(d.vector >= 0 && d.vector < l.vectors)) throw new Error(`${desc()}: delivery from vector ${d.vector}`);
        if (emu.isMasked(d.vector)) throw new Error(`${desc()}: masked vector ${d.vector} delivered`);
      }
      validateMsi('fuzz', { addressLo: d.lo, addressHi: d.hi, data: d.data }, DEFAULT_MSI_POLICY);
    }
  }

  /** Opens everything and programs a valid message, so that random accesses also hit live routes. */
  liven(): void {
    const l = this.l;
    this.emu.configWrite(3, 1, 0x80);
    for (let v = 0; v < l.vectors; v += 1 + this.int(Math.max(1, l.vectors >>> 3))) {
      const base = l.tOff + v * 16;
      this.emu.write64Halves(l.tBar, base, 0xfee00000, 0);
      this.emu.write64Halves(l.tBar, base + 8, 0x30 + (v & 0x7f), 0);
    }
  }
}

function run(vectors: number, kind: number, steps: number, rnd: () => number): void {
  const l = layoutFor(vectors, kind);
  const f = new Fuzzer(l, rnd, (['all', 'none', 'some'] as const)[(vectors + kind) % 3]!);
  for (let i = 0; i < steps; i++) {
    if (i === steps >>> 2) f.liven();
    f.step(`seed ${SEED} vectors ${vectors} layout ${kind % 5} step ${i}`);
  }
  // Only route failures and refused values may be reported; the fake routes only refuse invalid
  // messages, and every value that is not a DWORD (QWORD for write64) is refused exactly once.
  const refused = f.errors.filter((m) => /\[INVALID_ARGUMENT\]/.test(m));
  for (const m of f.errors) expect(m).toMatch(/INVALID_MSI|INVALID_ARGUMENT/);
  expect(refused).toHaveLength(f.refusals);
}

describe('a hostile guest cannot break the emulator', () => {
  it('every vector count 1-2048, every layout kind: random accesses throw nothing and touch nothing else', () => {
    const rnd = seededRandom(SEED);
    for (let n = 1; n <= 2048; n++) run(n, n, 8 * SCALE, rnd);
  }, 120_000);

  it('long random sequences at the boundary vector counts', () => {
    const rnd = seededRandom(SEED ^ 0x9e3779b9);
    for (const n of [1, 2, 7, 8, 63, 64, 65, 127, 128, 129, 1000, 2047, 2048]) {
      for (let kind = 0; kind < 5; kind++) run(n, kind, 400 * SCALE, rnd);
    }
  }, 120_000);

  it('config space: every width at every offset reads the capability image and writes only Enable / Function Mask', () => {
    const e = new MsixEmulator({ vectors: 2048, table: { bir: 0, offset: 0x40 }, pba: { bir: 0, offset: 0x40 + 2048 * 16 }, nextPointer: 0x98 });
    const image = [0x11, 0x98, 0xff, 0x07, 0x40, 0x00, 0x00, 0x00, (0x40 + 2048 * 16) & 0xff, ((0x40 + 2048 * 16) >>> 8) & 0xff, 0, 0];
    for (let off = -8; off < 20; off++) {
      for (let size = -1; size <= 8; size++) {
        for (const value of [0, 0xffffffff, 0x55555555, 0xaaaaaaaa]) {
          e.configWrite(off, size, value);
          const byte3 = size >= 1 && size <= 4 && off <= 3 && off + size > 3 ? (value >>> (8 * (3 - off))) & 0xc0 : undefined;
          if (byte3 !== undefined) image[3] = (image[3]! & 0x3f) | byte3;
          expect({ off, size, value, enabled: e.enabled, functionMasked: e.functionMasked }).toEqual({
            off,
            size,
            value,
            enabled: (image[3]! & 0x80) !== 0,
            functionMasked: (image[3]! & 0x40) !== 0,
          });
          for (let rOff = -4; rOff < 16; rOff++) {
            for (let rSize = 0; rSize <= 5; rSize++) {
              let want = 0;
              if (rSize >= 1 && rSize <= 4) for (let i = 0; i < rSize; i++) want += (image[rOff + i] ?? 0) * 2 ** (8 * i);
              const got = e.configRead(rOff, rSize);
              if (got !== want) expect({ off, size, value, rOff, rSize, got }).toEqual({ off, size, value, rOff, rSize, got: want });
            }
          }
        }
      }
    }
  });
});
