/**
 * Model-based property test of MsiEmulator: random sequences of config accesses (any size, offset
 * and value, in and out of the capability), Linux-style message programming, Control and Mask
 * writes, device raises on both paths (the route's event, and `signal`), resets, snapshots and
 * route changes run on the emulator (with in-memory routes that follow the IrqFdRoute contract)
 * and on the independent model in support/msi-model.ts, over all four layouts and every vector
 * count. After every step the reads, the interrupts delivered (which vector, which message), the
 * routes' state (armed exactly when the vector may send, with its message) must agree, and no
 * route may be misused.
 *
 * CI runs 1,500 sequences; TSVMM_LONG_PROPERTY=1 runs 30,000.
 */
import fc from 'fast-check';
import { DEFAULT_MSI_POLICY, type MsiPolicy, encodeMsi, validateMsi } from '@tsvmm/virt';
import { MsiEmulator } from '../src';
import { FakeRouteSet } from './support/fake-routes';
import { MsiModel } from './support/msi-model';

const RUNS = process.env.TSVMM_LONG_PROPERTY === '1' ? 30_000 : 1_500;
const X2APIC: MsiPolicy = { addressHi: 'x2apic-ids', backend: 'test' };

interface Setup {
  readonly vectors: number;
  readonly address64: boolean;
  readonly perVectorMasking: boolean;
  readonly x2apic: boolean;
  readonly routed: boolean;
  readonly nextPointer: number;
}

type Op =
  | { k: 'cw'; off: number; size: number; value: number }
  | { k: 'cr'; off: number; size: number }
  | { k: 'control'; enable: boolean; mme: number }
  | { k: 'program'; lo: number; hi: number; data: number; upperFirst: boolean; devAfter: number; devVector: number }
  | { k: 'mask'; bits: number }
  | { k: 'sig'; v: number }
  | { k: 'dev'; v: number }
  | { k: 'reset' }
  | { k: 'saveRestore' }
  | { k: 'routes' };

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const setupArb: fc.Arbitrary<Setup> = fc.record({
  vectors: fc.constantFrom(1, 2, 4, 8, 16, 32),
  address64: fc.boolean(),
  perVectorMasking: fc.boolean(),
  x2apic: fc.boolean(),
  routed: fc.boolean(),
  nextPointer: fc.integer({ min: 0, max: 255 }),
});

/** Mostly deliverable x86 messages (fixed mode, APIC 0-3 or a high x2APIC ID, aligned vector blocks), sometimes garbage. */
const messageArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ dest: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0x1234)), vector: fc.integer({ min: 0x20, max: 0xff }) }).map(({ dest, vector }) => {
      const m = encodeMsi({ destinationId: dest, vector: vector & ~31 });
      return { lo: m.addressLo, hi: m.addressHi, data: m.data };
    }),
  },
  { weight: 1, arbitrary: fc.record({ lo: u32, hi: fc.oneof(fc.constant(0), u32), data: fc.integer({ min: 0, max: 0xffff }) }) },
);

const opArb = (s: Setup): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('cw' as const), off: fc.integer({ min: -3, max: 0x1c }), size: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, 8)), value: u32 }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('cr' as const), off: fc.integer({ min: -3, max: 0x1c }), size: fc.integer({ min: 0, max: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('control' as const), enable: fc.boolean(), mme: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('program' as const), upperFirst: fc.boolean(), devAfter: fc.integer({ min: -1, max: 2 }), devVector: fc.integer({ min: 0, max: s.vectors - 1 }) }).chain((o) => messageArb.map((m) => ({ ...o, ...m }))) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('mask' as const), bits: u32 }) },
    { weight: 5, arbitrary: fc.record({ k: fc.constant('sig' as const), v: fc.integer({ min: -1, max: s.vectors }) }) },
    { weight: 5, arbitrary: fc.record({ k: fc.constant('dev' as const), v: fc.integer({ min: 0, max: s.vectors - 1 }) }) },
    { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'saveRestore' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'routes' as const }) },
  );

const scenarioArb = setupArb.chain((s) => fc.tuple(fc.constant(s), fc.array(opArb(s), { minLength: 1, maxLength: 60 })));

function run(s: Setup, ops: readonly Op[]): void {
  const policy = s.x2apic ? X2APIC : DEFAULT_MSI_POLICY;
  const fake = new FakeRouteSet(s.vectors, policy);
  const errors: string[] = [];
  const emu = new MsiEmulator({
    vectors: s.vectors,
    address64: s.address64,
    perVectorMasking: s.perVectorMasking,
    nextPointer: s.nextPointer,
    requestMsi: fake.inject,
    ...(s.x2apic ? { policy } : {}),
    onError: (e, v, op) => errors.push(`${op} ${v}: ${e.message}`),
  });
  const model = new MsiModel(s, policy, s.nextPointer);
  let attached = false;
  const attach = () => {
    for (const r of fake.routes) r.attached = true;
    emu.setRoutes(fake.routes, { batch: fake.batch });
    attached = true;
  };
  if (s.routed) attach();
  const dataAt = s.address64 ? 12 : 8;
  const maskAt = dataAt + 4;

  for (const [step, op] of ops.entries()) {
    const where = () => `step ${step} ${JSON.stringify(op)} of ${JSON.stringify(ops.slice(0, step))}`;
    switch (op.k) {
      case 'cw':
        emu.configWrite(op.off, op.size, op.value);
        model.write(op.off, op.size, op.value);
        break;
      case 'cr': {
        const got = emu.configRead(op.off, op.size);
        model.commit();
        const want = model.read(op.off, op.size);
        if (got !== want) throw new Error(`${where()}: read ${got.toString(16)}, model ${want.toString(16)}`);
        break;
      }
      case 'control': {
        const value = (op.enable ? 1 : 0) | (op.mme << 4);
        emu.configWrite(2, 2, value);
        model.write(2, 2, value);
        break;
      }
      case 'program': {
        // Linux's order: Address, Upper Address (64-bit layouts), then the 16-bit Data.
        const writes: [number, number, number][] = [[4, 4, op.lo]];
        if (s.address64) writes[op.upperFirst ? 'unshift' : 'push']([8, 4, op.hi]);
        writes.push([dataAt, 2, op.data]);
        for (const [i, [off, size, value]] of writes.entries()) {
          emu.configWrite(off, size, value);
          model.write(off, size, value);
          // The device raises a vector in the middle of the rewrite (on the kernel path: nothing ends the staging).
          if (i === op.devAfter && attached) {
            fake.routes[op.devVector]!.deviceSignal();
            model.raise(op.devVector, false);
          }
        }
        break;
      }
      case 'mask':
        emu.configWrite(maskAt, 4, op.bits);
        model.write(maskAt, 4, op.bits);
        break;
      case 'sig': {
        const got = emu.signal(op.v);
        const want = op.v >= 0 && op.v < s.vectors ? model.raise(op.v, true) : false;
        if (got !== want) throw new Error(`${where()}: signal returned ${got}, model ${want}`);
        break;
      }
      case 'dev':
        if (!attached) break;
        fake.routes[op.v]!.deviceSignal();
        model.raise(op.v, false);
        break;
      case 'reset':
        emu.reset();
        model.reset();
        break;
      case 'saveRestore': {
        const state = JSON.parse(JSON.stringify(emu.save())) as ReturnType<MsiEmulator['save']>;
        emu.restore(state);
        model.commit();
        model.flush();
        break;
      }
      case 'routes':
        if (attached) {
          emu.clearRoutes();
          for (const r of fake.routes) r.attached = false;
          attached = false;
        } else attach();
        model.commit();
        model.flush();
        break;
    }
    // Deliveries: the same messages, from the same vectors (an injection carries no route index).
    const got = fake.take().map((d) => `${d.via === 'route' ? d.vector : '-'} ${d.lo}:${d.hi}:${d.data}`);
    const want = model.take().map((d) => `${attached ? d.vector : '-'} ${d.msg.lo}:${d.msg.hi}:${d.msg.data}`);
    if (JSON.stringify(got.sort()) !== JSON.stringify(want.sort())) throw new Error(`${where()}: delivered ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
    if (fake.violations.length > 0) throw new Error(`${where()}: route misuse ${fake.violations.join('; ')}`);
    // Routes: armed exactly when the vector may send (unless a staged rewrite holds the old message).
    if (attached && !model.staged) {
      for (let v = 0; v < s.vectors; v++) {
        const r = fake.routes[v]!;
        const may = model.deliverable(v);
        if (r.armed !== may) throw new Error(`${where()}: route ${v} armed ${r.armed}, model says it may send: ${may}`);
        if (may) {
          const m = model.messageOf(v);
          if (r.msi!.lo !== m.lo || r.msi!.hi !== m.hi || r.msi!.data !== m.data) throw new Error(`${where()}: route ${v} carries ${JSON.stringify(r.msi)}, model ${JSON.stringify(m)}`);
        }
      }
    }
  }
  // Every read of the whole capability agrees at the end, and no failure was reported other than refused messages.
  model.commit();
  for (let off = 0; off < model.size; off++) expect(emu.configRead(off, 1)).toBe(model.read(off, 1));
  expect(errors.filter((e) => !e.includes('INVALID_MSI') && !/must be|not a deliverable|reserved|x2APIC|upper/i.test(e))).toEqual([]);
}

describe('MsiEmulator against the spec model', () => {
  it('random guest and device sequences: reads, deliveries and routes agree with the model', () => {
    fc.assert(
      fc.property(scenarioArb, ([s, ops]) => run(s, ops)),
      { numRuns: RUNS },
    );
  });

  it('every layout and vector count is reached by the generator', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(setupArb, (s) => {
        seen.add(`${s.vectors}/${s.address64}/${s.perVectorMasking}`);
      }),
      { numRuns: 2_000 },
    );
    expect(seen.size).toBe(6 * 2 * 2);
  });
});

describe('MsiEmulator under route and commit failures', () => {
  type FailOp = Op | { k: 'fail'; method: 'setMsi' | 'clearMsi' | 'mask' | 'unmask' | 'consumePending' | 'signal' | 'batch'; times: number; vector: number };
  const failArb = (s: Setup): fc.Arbitrary<FailOp> =>
    fc.oneof(
      { weight: 4, arbitrary: opArb(s) },
      {
        weight: 1,
        arbitrary: fc.record({
          k: fc.constant('fail' as const),
          method: fc.constantFrom('setMsi' as const, 'clearMsi' as const, 'mask' as const, 'unmask' as const, 'consumePending' as const, 'signal' as const, 'batch' as const),
          times: fc.integer({ min: 1, max: 3 }),
          vector: fc.integer({ min: 0, max: s.vectors - 1 }),
        }),
      },
    );

  it('nothing throws, no route is misused, and resync() brings every route to what the registers say', () => {
    fc.assert(
      fc.property(
        setupArb.chain((s) => fc.tuple(fc.constant({ ...s, routed: true }), fc.array(failArb(s), { minLength: 1, maxLength: 50 }))),
        ([s, ops]) => {
          const policy = s.x2apic ? X2APIC : DEFAULT_MSI_POLICY;
          const fake = new FakeRouteSet(s.vectors, policy);
          const emu = new MsiEmulator({ vectors: s.vectors, address64: s.address64, perVectorMasking: s.perVectorMasking, ...(s.x2apic ? { policy } : {}), onError: () => undefined });
          emu.setRoutes(fake.routes, { batch: fake.batch });
          const dataAt = s.address64 ? 12 : 8;
          for (const op of ops) {
            switch (op.k) {
              case 'fail':
                fake.fail(op.method, op.times, op.method === 'batch' ? undefined : op.vector);
                break;
              case 'cw':
                emu.configWrite(op.off, op.size, op.value);
                break;
              case 'cr':
                emu.configRead(op.off, op.size);
                break;
              case 'control':
                emu.configWrite(2, 2, (op.enable ? 1 : 0) | (op.mme << 4));
                break;
              case 'program':
                emu.configWrite(4, 4, op.lo);
                if (s.address64) emu.configWrite(8, 4, op.hi);
                emu.configWrite(dataAt, 2, op.data);
                break;
              case 'mask':
                emu.configWrite(dataAt + 4, 4, op.bits);
                break;
              case 'sig':
                emu.signal(op.v);
                break;
              case 'dev':
                fake.routes[op.v]!.deviceSignal();
                break;
              case 'reset':
                emu.reset();
                break;
              case 'saveRestore':
                emu.restore(emu.save());
                break;
              case 'routes':
                emu.resync();
                break;
            }
            if (fake.violations.length > 0) throw new Error(`route misuse: ${fake.violations.join('; ')}`);
          }
          fake.failures.clear();
          emu.resync();
          // The registers, read as the guest reads them, say what every route must be.
          const word = (at: number) => emu.configRead(at, 4);
          const control = emu.configRead(2, 2);
          const granted = 2 ** ((control >> 4) & 7);
          const mask = s.perVectorMasking ? word(dataAt + 4) : 0;
          for (let v = 0; v < s.vectors; v++) {
            const msg = { lo: word(4), hi: s.address64 ? word(8) : 0, data: (emu.configRead(dataAt, 2) & ~(granted - 1)) | (v % granted) };
            let valid = true;
            try {
              validateMsi('test', { addressLo: msg.lo, addressHi: msg.hi, data: msg.data }, policy);
            } catch {
              valid = false;
            }
            const may = (control & 1) === 1 && v < granted && ((mask >>> v) & 1) === 0 && valid;
            const r = fake.routes[v]!;
            expect({ v, armed: r.armed, msi: may ? r.msi : undefined }).toEqual({ v, armed: may, msi: may ? msg : undefined });
          }
        },
      ),
      { numRuns: process.env.TSVMM_LONG_PROPERTY === '1' ? 10_000 : 400 },
    );
  });
});
