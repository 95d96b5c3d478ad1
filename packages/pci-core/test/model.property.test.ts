/**
 * Model-based property test: random sequences of guest accesses (any size, offset, alignment,
 * value, BAR, including out of range), config-space accesses, device signals on both paths,
 * resets, snapshots and route changes run on the emulator (with in-memory routes that follow the
 * IrqFdRoute contract) and on the independent model in support/model.ts. After every step the
 * reads, the table, the control bits, the deliveries (which vector, which message, through which
 * path) and the routes' state must agree, and the routes must never see a forbidden call.
 *
 * CI runs a few thousand sequences; TSVMM_LONG_PROPERTY=1 runs many more.
 */
import fc from 'fast-check';
import { DEFAULT_MSI_POLICY, type MsiPolicy } from '@tsvmm/virt';
import { MsixTable } from '../src/table';
import { MsixVectorRoutes } from '../src/vector-routes';
import { MsixEmulator } from '../src';
import { FakeRouteSet } from './support/fake-routes';
import { type ModelLayout, MsixModel } from './support/model';

/** TSVMM_PROPERTY_STATS=1 prints how much of the state space the sequences reached. */
const STATS_ON = process.env.TSVMM_PROPERTY_STATS === '1';
const STATS = { ops: 0, staged: 0, deliveries: 0, reads: 0, openVectorSteps: 0, pendingSteps: 0 };
afterAll(() => {
  if (STATS_ON) console.log(JSON.stringify(STATS));
});
const LONG = process.env.TSVMM_LONG_PROPERTY === '1';
const RUNS = LONG ? 50_000 : 2_000;
const X2APIC: MsiPolicy = { addressHi: 'x2apic-ids', backend: 'test' };

interface Setup {
  readonly layout: ModelLayout;
  readonly x2apic: boolean;
  readonly routeMode: 'all' | 'none' | 'some';
}

type Op =
  | { k: 'w32'; bar: number; off: number; value: number }
  | { k: 'r32'; bar: number; off: number }
  | { k: 'w64'; bar: number; off: number; lo: number; hi: number }
  | { k: 'r64'; bar: number; off: number }
  | { k: 'w'; bar: number; off: number; bytes: number[] }
  | { k: 'r'; bar: number; off: number; len: number }
  | { k: 'cw'; off: number; size: number; value: number }
  | { k: 'cr'; off: number; size: number }
  | { k: 'program'; v: number; bar: number; lo: number; hi: number; data: number; qword: boolean; unmask: 'no' | 'dword' | 'qword' }
  | { k: 'sig'; v: number }
  | { k: 'dev'; v: number }
  | { k: 'reset' }
  | { k: 'saveRestore' }
  | { k: 'routes'; on: boolean };

const u32 = fc.integer({ min: 0, max: 0xffffffff });

const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    vectors: fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(1, 2, 3, 5, 8, 31, 32, 33, 63, 64, 65, 100, 130) },
      { weight: 1, arbitrary: fc.constant(2048) },
    ),
    tBar: fc.integer({ min: 0, max: 5 }),
    pBar: fc.integer({ min: 0, max: 5 }),
    placement: fc.constantFrom('after', 'before', 'apart', 'high'),
    slot: fc.integer({ min: 0, max: 40 }),
    nextPointer: fc.integer({ min: 0, max: 255 }),
    x2apic: fc.boolean(),
    routeMode: fc.constantFrom('all', 'none', 'some'),
  })
  .map(({ vectors, tBar, pBar, placement, slot, nextPointer, x2apic, routeMode }) => {
    const tSize = vectors * 16;
    const pSize = Math.ceil(vectors / 64) * 8;
    let tOff: number;
    let pOff: number;
    switch (placement) {
      case 'after':
        tOff = slot * 8;
        pOff = tOff + tSize + (slot % 3) * 8;
        break;
      case 'before':
        pOff = slot * 8;
        tOff = pOff + pSize + (slot % 2) * 8;
        break;
      case 'apart':
        tOff = 0x100 + slot * 8;
        pOff = tOff + tSize + 0x400;
        break;
      default:
        tOff = 0xfff0_0000 - tSize - slot * 8;
        pOff = 0xffff_fff8 - pSize + 8;
        break;
    }
    return { layout: { vectors, tBar, tOff, pBar, pOff, nextPointer }, x2apic, routeMode };
  });

function opsArb(s: Setup): fc.Arbitrary<Op[]> {
  const { vectors, tBar, tOff, pBar, pOff } = s.layout;
  const tSize = vectors * 16;
  const pSize = Math.ceil(vectors / 64) * 8;
  // A few hot vectors (first, second, middle, last) so that sequences build up state on them.
  const vec = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, Math.min(1, vectors - 1), vectors >>> 1, vectors - 1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: vectors - 1 }) },
  );
  const anyBar = (bar: number) => fc.oneof({ weight: 9, arbitrary: fc.constant(bar) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) });
  const dest = fc.integer({ min: 0, max: 3 });
  const fieldValue = (field: number): fc.Arbitrary<number> => {
    const good =
      field === 0
        ? fc.tuple(dest, fc.constantFrom(0, 0, 0, 4, 8, 3, 0x20)).map(([d, f]) => (0xfee00000 | (d << 12) | f) >>> 0)
        : field === 1
          ? fc.constantFrom(0, 0, 0, s.x2apic ? 0x100 : 0, 0x200, 0xff)
          : field === 2
            ? fc.oneof(fc.integer({ min: 16, max: 255 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 16, max: 255 }).map((v) => v | 0x100))
            : fc.constantFrom(0, 0, 1, 1, 0xfffffffe, 0xffffffff);
    return fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: u32 });
  };
  const fieldOff = fc.tuple(vec, fc.integer({ min: 0, max: 3 })).map(([v, f]) => ({ off: tOff + v * 16 + f * 4, f }));
  const tableAny = fc.integer({ min: -24, max: tSize + 24 }).map((d) => tOff + d);
  const pbaAny = fc.integer({ min: -12, max: pSize + 12 }).map((d) => pOff + d);
  const anyOffset = fc.oneof(
    { weight: 3, arbitrary: tableAny.map((off) => ({ bar: tBar, off })) },
    { weight: 2, arbitrary: pbaAny.map((off) => ({ bar: pBar, off })) },
    { weight: 1, arbitrary: fc.record({ bar: fc.integer({ min: 0, max: 7 }), off: fc.integer({ min: 0, max: 0x20000 }) }) },
  );
  const pbaDword = fc.integer({ min: 0, max: pSize / 4 - 1 }).map((i) => pOff + i * 4);
  const ctlByte = fc.constantFrom(0x80, 0x80, 0x80, 0xc0, 0x40, 0x00);
  const configWrite = fc
    .record({ off: fc.oneof(fc.constantFrom(2, 3, 0, 0), fc.integer({ min: -3, max: 14 })), size: fc.constantFrom(1, 2, 4, 4, 3, 0, 5), noise: u32, ctl: ctlByte })
    .map(({ off, size, noise, ctl }) => {
      const i = 3 - off;
      const value = i >= 0 && i < 4 ? ((noise & ~(0xff << (8 * i))) | (ctl << (8 * i))) >>> 0 : noise;
      return { k: 'cw' as const, off, size, value };
    });
  const program = fc
    .record({
      v: vec,
      lo: fc.oneof({ weight: 8, arbitrary: dest.map((d) => (0xfee00000 | (d << 12)) >>> 0) }, { weight: 1, arbitrary: fieldValue(0) }),
      hi: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, s.x2apic ? 0x100 : 0) }, { weight: 1, arbitrary: fieldValue(1) }),
      data: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 16, max: 255 }) }, { weight: 1, arbitrary: fieldValue(2) }),
      qword: fc.boolean(),
      unmask: fc.constantFrom('no', 'dword', 'qword'),
    })
    .map((x) => ({ k: 'program' as const, bar: tBar, ...x }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: program },
    { weight: 14, arbitrary: fieldOff.chain(({ off, f }) => fc.record({ bar: anyBar(tBar), value: fieldValue(f) }).map((x) => ({ k: 'w32' as const, off, ...x }))) },
    { weight: 3, arbitrary: fc.record({ o: anyOffset, value: u32 }).map(({ o, value }) => ({ k: 'w32' as const, ...o, value })) },
    { weight: 4, arbitrary: fc.record({ off: fieldOff.map((x) => x.off), bar: anyBar(tBar) }).map((x) => ({ k: 'r32' as const, ...x })) },
    { weight: 3, arbitrary: fc.record({ off: pbaDword, bar: anyBar(pBar) }).map((x) => ({ k: 'r32' as const, ...x })) },
    { weight: 2, arbitrary: anyOffset.map((o) => ({ k: 'r32' as const, ...o })) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(vec, fc.boolean(), anyBar(tBar))
        .chain(([v, second, bar]) =>
          fc
            .tuple(fieldValue(second ? 2 : 0), fieldValue(second ? 3 : 1))
            .map(([lo, hi]) => ({ k: 'w64' as const, bar, off: tOff + v * 16 + (second ? 8 : 0), lo, hi })),
        ),
    },
    { weight: 1, arbitrary: fc.record({ o: anyOffset, lo: u32, hi: u32 }).map(({ o, lo, hi }) => ({ k: 'w64' as const, ...o, lo, hi })) },
    { weight: 2, arbitrary: fc.oneof(anyOffset, pbaDword.map((off) => ({ bar: pBar, off }))).map((o) => ({ k: 'r64' as const, ...o })) },
    {
      weight: 3,
      arbitrary: fc
        .record({ o: anyOffset, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 24 }) })
        .map(({ o, bytes }) => ({ k: 'w' as const, ...o, bytes })),
    },
    { weight: 3, arbitrary: fc.record({ o: anyOffset, len: fc.integer({ min: 0, max: 24 }) }).map(({ o, len }) => ({ k: 'r' as const, ...o, len })) },
    { weight: 4, arbitrary: configWrite },
    { weight: 2, arbitrary: fc.constant({ k: 'cw' as const, off: 2, size: 2, value: 0x8000 }) },
    { weight: 1, arbitrary: fc.record({ off: fc.integer({ min: -3, max: 14 }), size: fc.constantFrom(1, 2, 3, 4, 0, 8) }).map((x) => ({ k: 'cr' as const, ...x })) },
    { weight: 8, arbitrary: fc.oneof({ weight: 4, arbitrary: vec }, { weight: 1, arbitrary: fc.integer({ min: -2, max: vectors + 2 }) }).map((v) => ({ k: 'sig' as const, v })) },
    { weight: 8, arbitrary: vec.map((v) => ({ k: 'dev' as const, v })) },
    { weight: 1, arbitrary: fc.oneof({ weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) }, { weight: 2, arbitrary: fc.constant({ k: 'saveRestore' as const }) }) },
    { weight: 1, arbitrary: fc.boolean().map((on) => ({ k: 'routes' as const, on })) },
  );
  return fc.array(op, { minLength: 1, maxLength: vectors > 200 ? 25 : 60, size: 'max' });
}

function le(x: number): number[] {
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
}

function bytesToNumber(bytes: readonly (number | undefined)[]): bigint {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i] ?? 0);
  return x;
}

/** Route failures to inject (chaos runs): at step `at`, the next `times` calls of `method` throw. */
interface Fault {
  readonly at: number;
  readonly method: 'setMsi' | 'clearMsi' | 'mask' | 'unmask' | 'consumePending' | 'signal' | 'batch';
  readonly times: number;
}

const faultsArb = fc.array(
  fc.record({
    at: fc.nat(60),
    method: fc.constantFrom('setMsi', 'clearMsi', 'mask', 'unmask', 'consumePending', 'signal', 'batch'),
    times: fc.integer({ min: 1, max: 3 }),
  }),
  { maxLength: 8 },
) as fc.Arbitrary<Fault[]>;

/**
 * Runs `ops` on the emulator and the model. With `faults`, routes fail along the way: then only
 * what failures cannot change is compared step by step (table, control, no forbidden route call,
 * no half-updated message, nothing thrown), and after `resync()` every route must match the spec.
 */
function runSequence(s: Setup, ops: readonly Op[], faults?: readonly Fault[]): void {
  const chaos = faults !== undefined;
  const L = s.layout;
  const policy = s.x2apic ? X2APIC : DEFAULT_MSI_POLICY;
  const hasRoute = (v: number) => s.routeMode === 'all' || (s.routeMode === 'some' && v % 3 !== 1);
  const fake = new FakeRouteSet(L.vectors, policy, hasRoute);
  const errors: string[] = [];
  const emu = new MsixEmulator({
    vectors: L.vectors,
    table: { bir: L.tBar, offset: L.tOff },
    pba: { bir: L.pBar, offset: L.pOff },
    nextPointer: L.nextPointer,
    policy,
    requestMsi: fake.inject,
    onError: (e) => errors.push(e.message),
  });
  const model = new MsixModel(L, policy, hasRoute);
  let routed = false;
  const attach = (on: boolean) => {
    if (on) {
      for (const r of fake.routes) r.attached = true;
      emu.setRoutes(fake.forEmulator, { batch: fake.batch });
    } else {
      emu.clearRoutes();
      for (const r of fake.routes) r.attached = false;
    }
    routed = on;
  };
  if (s.routeMode !== 'none') attach(true);
  else model.setRouted(false);
  if (s.routeMode !== 'none') model.setRouted(true);

  // Large layouts: compare the vectors the sequence can touch each step, all of them at the end.
  const watched: number[] = [];
  if (L.vectors <= 200) for (let v = 0; v < L.vectors; v++) watched.push(v);
  else {
    const set = new Set([0, 1, L.vectors >>> 1, L.vectors - 1]);
    for (const op of ops) {
      if ('v' in op && op.v >= 0 && op.v < L.vectors) set.add(op.v);
      if ('off' in op && op.k !== 'cw' && op.k !== 'cr') {
        const len = op.k === 'w' ? op.bytes.length : op.k === 'r' ? op.len : 8;
        for (let a = op.off; a < op.off + len; a++) {
          const rel = a - L.tOff;
          if (rel >= 0 && rel < L.vectors * 16) set.add(Math.floor(rel / 16));
        }
      }
    }
    watched.push(...set);
  }
  const all = Array.from({ length: L.vectors }, (_, v) => v);

  // With route failures, pending bits legitimately differ from the model: PBA bytes are not compared.
  const blind = (bar: number, off: number, len: number) => chaos && bar === L.pBar && off < L.pOff + Math.ceil(L.vectors / 64) * 8 && off + len > L.pOff;
  const fail = (where: string, what: string, got: unknown, want: unknown): never => {
    expect({ where, what, got }).toEqual({ where, what, got: want });
    throw new Error('unreachable');
  };
  const check = (step: number, op: Op | { k: 'final' }, vectors: readonly number[]) => {
    const where = `step ${step} ${JSON.stringify(op)}`;
    const got = fake.take();
    const want = model.take();
    if (!chaos && JSON.stringify(got) !== JSON.stringify(want)) fail(where, 'deliveries', got, want);
    if (fake.violations.length > 0) fail(where, 'route misuse', fake.violations, []);
    if (emu.enabled !== model.enable || emu.functionMasked !== model.functionMask) {
      fail(where, 'control', [emu.enabled, emu.functionMasked], [model.enable, model.functionMask]);
    }
    for (const v of vectors) {
      const e = model.entries[v]!;
      const entry = emu.entry(v);
      if (entry.addressLo !== e.lo || entry.addressHi !== e.hi || entry.data !== e.data || entry.masked !== e.masked) {
        fail(`${where} vector ${v}`, 'entry', entry, { addressLo: e.lo, addressHi: e.hi, data: e.data, masked: e.masked });
      }
      if (chaos && op.k !== 'final') continue;
      const sends = model.sends(v);
      if (emu.isDelivering(v) !== sends) fail(`${where} vector ${v}`, 'delivering', emu.isDelivering(v), sends);
      if (!routed || !hasRoute(v)) continue;
      const r = fake.routes[v]!;
      const m = model.message(v);
      const sameMsi = !sends || (r.msi !== undefined && r.msi.lo === m.lo && r.msi.hi === m.hi && r.msi.data === m.data);
      if (r.armed !== sends || !sameMsi || (!model.enable && r.msi !== undefined)) {
        const state = { armed: r.armed, msi: r.msi, cleared: r.msi === undefined };
        const wantState = { armed: sends, msi: sends ? { lo: m.lo, hi: m.hi, data: m.data } : r.msi, cleared: model.enable ? state.cleared : true };
        fail(`${where} vector ${v}`, 'route', state, wantState);
      }
    }
    for (const c of fake.calls) {
      if (c.method !== 'setMsi') continue;
      if (!model.completeAddresses[c.vector]!.has(`${c.args[0]}:${c.args[1]}`)) fail(where, 'half-updated setMsi', c, null);
    }
    fake.calls.length = 0;
  };

  ops.forEach((op, step) => {
    if (STATS_ON) STATS.ops++;
    for (const f of faults ?? []) if (f.at === step) fake.fail(f.method, f.times);
    switch (op.k) {
      case 'w32':
        emu.write32(op.bar, op.off, op.value);
        model.write(op.bar, op.off, [op.value & 0xff, (op.value >>> 8) & 0xff, (op.value >>> 16) & 0xff, op.value >>> 24]);
        break;
      case 'w64':
        emu.write64Halves(op.bar, op.off, op.lo, op.hi);
        model.write(op.bar, op.off, [0, 8, 16, 24].map((sh) => (op.lo >>> sh) & 0xff).concat([0, 8, 16, 24].map((sh) => (op.hi >>> sh) & 0xff)));
        break;
      case 'program': {
        // A driver's sequence: address (one QWORD or two DWORDs), then data.
        const base = L.tOff + op.v * 16;
        if (op.qword) {
          emu.write64Halves(op.bar, base, op.lo, op.hi);
          model.write(op.bar, base, le(op.lo).concat(le(op.hi)));
        } else {
          emu.write32(op.bar, base, op.lo);
          model.write(op.bar, base, le(op.lo));
          emu.write32(op.bar, base + 4, op.hi);
          model.write(op.bar, base + 4, le(op.hi));
        }
        if (op.unmask === 'qword') {
          emu.write64Halves(op.bar, base + 8, op.data, 0);
          model.write(op.bar, base + 8, le(op.data).concat(le(0)));
          break;
        }
        emu.write32(op.bar, base + 8, op.data);
        model.write(op.bar, base + 8, le(op.data));
        if (op.unmask === 'dword') {
          emu.write32(op.bar, base + 12, 0);
          model.write(op.bar, base + 12, le(0));
        }
        break;
      }
      case 'w':
        emu.write(op.bar, op.off, Uint8Array.from(op.bytes));
        model.write(op.bar, op.off, op.bytes);
        break;
      case 'r32': {
        const got = emu.read32(op.bar, op.off);
        const want = Number(bytesToNumber(model.read(op.bar, op.off, 4)));
        if (got !== want && !blind(op.bar, op.off, 4)) expect({ where: `step ${step} ${JSON.stringify(op)}`, got }).toEqual({ where: `step ${step} ${JSON.stringify(op)}`, got: want });
        break;
      }
      case 'r64': {
        const got = emu.read64(op.bar, op.off);
        const want = bytesToNumber(model.read(op.bar, op.off, 8));
        if (got !== want && !blind(op.bar, op.off, 8)) expect({ where: `step ${step} ${JSON.stringify(op)}`, got }).toEqual({ where: `step ${step} ${JSON.stringify(op)}`, got: want });
        break;
      }
      case 'r': {
        const out = new Uint8Array(op.len).fill(0xee);
        emu.read(op.bar, op.off, out);
        const want = model.read(op.bar, op.off, op.len).map((b) => b ?? 0xee);
        if (!blind(op.bar, op.off, op.len)) expect({ step, op, got: [...out] }).toEqual({ step, op, got: want });
        break;
      }
      case 'cw':
        emu.configWrite(op.off, op.size, op.value);
        model.configWrite(op.off, op.size, op.value);
        break;
      case 'cr':
        expect({ step, op, got: emu.configRead(op.off, op.size) }).toEqual({ step, op, got: model.configRead(op.off, op.size) });
        break;
      case 'sig':
        emu.signal(op.v);
        model.signal(op.v);
        break;
      case 'dev':
        if (routed && hasRoute(op.v)) {
          fake.routes[op.v]!.deviceSignal();
          model.deviceSignal(op.v);
        }
        break;
      case 'reset':
        emu.reset();
        model.resetFunction();
        break;
      case 'saveRestore': {
        const snap = emu.save();
        const json = JSON.parse(JSON.stringify(snap)) as typeof snap;
        emu.restore(json);
        model.saveRestore();
        const pending = model.pending.flatMap((p, v) => (p ? [v] : []));
        if (!chaos) expect({ step, pending: snap.pending }).toEqual({ step, pending });
        break;
      }
      case 'routes':
        if (s.routeMode !== 'none' && op.on !== routed) {
          attach(op.on);
          model.setRouted(op.on);
        }
        break;
    }
    if (STATS_ON) {
      if ((emu as unknown as { table: { stagedVector: number } }).table.stagedVector >= 0) STATS.staged++;
      STATS.deliveries += model.delivered.length;
      if (op.k === 'r32' || op.k === 'r64' || op.k === 'r') STATS.reads++;
      for (let v = 0; v < L.vectors; v++) if (model.sends(v)) STATS.openVectorSteps++;
      if (model.pending.some((p) => p)) STATS.pendingSteps++;
    }
    check(step, op, watched);
  });

  if (chaos) {
    fake.failures.clear();
    emu.resync();
    model.saveRestore(); // resync is an operation: it completes a staged address too
    check(ops.length, { k: 'final' }, all);
    return;
  }
  // Finally: the whole PBA agrees, and opening every vector delivers each pending one exactly once.
  const pba = new Uint8Array(Math.ceil(L.vectors / 64) * 8);
  emu.read(L.pBar, L.pOff, pba);
  const want = model.read(L.pBar, L.pOff, pba.length);
  expect([...pba]).toEqual(want);
  emu.configWrite(3, 1, 0x80);
  model.configWrite(3, 1, 0x80);
  for (let v = 0; v < L.vectors; v++) {
    emu.write(L.tBar, L.tOff + v * 16 + 12, Uint8Array.of(0));
    model.write(L.tBar, L.tOff + v * 16 + 12, [0]);
  }
  check(ops.length, { k: 'final' }, all);
  expect(errors.every((m) => /INVALID_MSI/.test(m))).toBe(true);
}

describe('MsixEmulator against the spec model', () => {
  it(`agrees on ${RUNS} random guest/device sequences`, () => {
    fc.assert(
      fc.property(
        setupArb.chain((s) => opsArb(s).map((ops) => ({ s, ops }))),
        ({ s, ops }) => runSequence(s, ops),
      ),
      { numRuns: RUNS, ...(process.env.TSVMM_PROPERTY_SEED ? { seed: Number(process.env.TSVMM_PROPERTY_SEED) } : {}) },
    );
  }, LONG ? 3_600_000 : 120_000);

  it('never throws and recovers with resync() when routes fail at random', () => {
    fc.assert(
      fc.property(
        setupArb.chain((s) => fc.tuple(opsArb(s), faultsArb).map(([ops, faults]) => ({ s, ops, faults }))),
        ({ s, ops, faults }) => runSequence(s, ops, faults),
      ),
      { numRuns: LONG ? 10_000 : 400 },
    );
  }, LONG ? 3_600_000 : 120_000);

  // The property test must be able to fail: each mutant breaks one rule, and the model must notice.
  // Each mutant names the part of the emulator it breaks: the façade, the table or the route state machine.
  type Proto = Record<string, (...args: unknown[]) => unknown>;
  const parts = {
    emulator: MsixEmulator.prototype as unknown as Proto,
    table: MsixTable.prototype as unknown as Proto,
    routes: MsixVectorRoutes.prototype as unknown as Proto,
  };
  const mutants: [string, string, (original: (...args: unknown[]) => unknown) => (this: unknown, ...args: unknown[]) => unknown][] = [
    [
      'double delivery at unmask',
      'routes.arm',
      (arm) =>
        function (this: unknown, v, r, ...rest) {
          const wasPending = (this as { pending: Uint8Array }).pending[v as number] === 1;
          const ok = arm.call(this, v, r, ...rest);
          if (ok && wasPending) (r as { signal(): void }).signal();
          return ok;
        },
    ],
    [
      'half-updated address applied at once',
      'table.writeEntry',
      (writeEntry) =>
        function (this: unknown, v, lo, hi, data, ctrl, touched) {
          return writeEntry.call(this, v, lo, hi, data, ctrl, (touched as number) === 1 || (touched as number) === 2 ? (touched as number) | 4 : touched);
        },
    ],
    [
      'PBA read drains unmasked vectors',
      'routes.pendingBit',
      (pendingBit) =>
        function (this: unknown, v) {
          const self = this as { open: Uint8Array; routes?: ({ consumePending(): boolean } | undefined)[] };
          if (self.open[v as number] === 1) self.routes?.[v as number]?.consumePending();
          return pendingBit.call(this, v);
        },
    ],
    [
      'Function Mask ignored for routes',
      'emulator.setControl',
      (setControl) =>
        function (this: unknown, enable, functionMask) {
          setControl.call(this, enable, functionMask);
          (this as { cap: { functionOpen: boolean } }).cap.functionOpen = enable as boolean;
        },
    ],
    [
      'reset keeps pending bits',
      'emulator.reset',
      (reset) =>
        function (this: unknown) {
          const pending = (this as { routes: { pending: Uint8Array } }).routes.pending;
          const keep = pending.slice();
          reset.call(this);
          pending.set(keep);
        },
    ],
  ];
  it.each(mutants)('catches a broken emulator: %s', (_name, where, mutate) => {
    const [part, method] = where.split('.') as [keyof typeof parts, string];
    const proto = parts[part];
    const original = proto[method]!;
    proto[method] = mutate(original);
    try {
      const details = fc.check(
        fc.property(
          setupArb.chain((s) => opsArb(s).map((ops) => ({ s, ops }))),
          ({ s, ops }) => runSequence(s, ops),
        ),
        { numRuns: 5000, endOnFailure: true },
      );
      expect(details.failed).toBe(true);
      // A model mismatch, not a crash of the mutant.
      expect(String(details.errorInstance)).toMatch(/toEqual/);
    } finally {
      proto[method] = original;
    }
  });
});
