/**
 * Exactly once under random interleavings, on real routes: random sequences of guest actions
 * (Mask Bits writes, Enable and Multiple Message Enable changes, Linux-order message rewrites
 * with the device raising in the middle, Pending Bits reads, save/restore, reset) and device
 * raises on both paths (the irqfd event, `signal`) run on an MsiEmulator over the target's irqfd
 * routes. After every step, what the guest's local APICs received must be exactly what the spec
 * model (support/msi-model.ts) says the function sent: the same vCPUs and vectors in the IRRs and,
 * on the models, the same number of accepted interrupts (nothing lost, nothing duplicated).
 *
 * 400 sequences per model target (TSVMM_LONG_PROPERTY=1: 5,000), 20 on the real /dev/kvm.
 */
import fc from 'fast-check';
import { DEFAULT_MSI_POLICY, type LocalApicAccess, type Partition, encodeMsi } from '@tsvmm/virt';
import { MsiEmulator, createIrqFdMsiRoutes } from '../src';
import { MsiModel } from './support/msi-model';
import { type MsiTarget, describeMsiTargets } from './support/msi-targets';

type Vm = Partition & LocalApicAccess;
const VECTORS = 4;

type Op =
  | { k: 'mask'; bits: number }
  | { k: 'control'; enable: boolean; mme: number }
  | { k: 'retarget'; vcpu: number; base: number; valid: boolean; raiseAfter: number; raiseVector: number }
  | { k: 'raise'; v: number }
  | { k: 'signal'; v: number }
  | { k: 'pending' }
  | { k: 'saveRestore' }
  | { k: 'reset' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('mask' as const), bits: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('control' as const), enable: fc.boolean(), mme: fc.integer({ min: 0, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('retarget' as const),
      vcpu: fc.integer({ min: 0, max: 1 }),
      base: fc.constantFrom(0x40, 0x60, 0x80, 0xa0, 0xc0),
      valid: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      raiseAfter: fc.integer({ min: -1, max: 1 }),
      raiseVector: fc.integer({ min: 0, max: VECTORS - 1 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('raise' as const), v: fc.integer({ min: 0, max: VECTORS - 1 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('signal' as const), v: fc.integer({ min: 0, max: VECTORS - 1 }) }) },
  { weight: 2, arbitrary: fc.constant({ k: 'pending' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'saveRestore' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
);

const caseArb = fc.record({ address64: fc.boolean(), perVectorMasking: fc.boolean(), ops: fc.array(opArb, { minLength: 1, maxLength: 40 }) });

function irrOf(vm: Vm): string[] {
  const out: string[] = [];
  for (let c = 0; c < vm.vcpuCount; c++) for (const vec of vm.readLocalApic(c).irr) out.push(`${c}:${vec}`);
  return out.sort();
}

async function runCase(t: MsiTarget, c: { address64: boolean; perVectorMasking: boolean; ops: readonly Op[] }): Promise<void> {
  using vm = t.create();
  using routes = createIrqFdMsiRoutes(vm.irqfd()!, VECTORS);
  const layout = { vectors: VECTORS, address64: c.address64, perVectorMasking: c.perVectorMasking };
  const emu = new MsiEmulator({ ...layout, onError: () => undefined });
  emu.setRoutes(routes.routes, { batch: routes.batch });
  const model = new MsiModel(layout, DEFAULT_MSI_POLICY, 0);
  const apicIds = [vm.readLocalApic(0).apicId, vm.readLocalApic(1).apicId];
  const vcpuOf = (lo: number) => apicIds.indexOf((lo >>> 12) & 0xff);
  const dataAt = c.address64 ? 12 : 8;
  let accepted = t.accepted(vm) ?? 0;
  const write = (off: number, size: number, value: number) => {
    emu.configWrite(off, size, value);
    model.write(off, size, value);
  };
  const raise = (v: number) => {
    routes.irqfdRoutes[v]!.event.signal();
    model.raise(v, false);
  };
  let control = 0;

  for (const [step, op] of c.ops.entries()) {
    switch (op.k) {
      case 'mask':
        write(dataAt + 4, 4, op.bits);
        break;
      case 'control':
        control = (op.enable ? 1 : 0) | (op.mme << 4);
        write(2, 2, control);
        break;
      case 'retarget': {
        const m = encodeMsi({ destinationId: apicIds[op.vcpu]!, vector: op.base });
        const writes: [number, number, number][] = [[4, 4, op.valid ? m.addressLo : 0xfed00000]];
        if (c.address64) writes.push([8, 4, m.addressHi]);
        writes.push([dataAt, 2, m.data]);
        for (const [i, [off, size, value]] of writes.entries()) {
          write(off, size, value);
          if (i === op.raiseAfter) raise(op.raiseVector);
        }
        break;
      }
      case 'raise':
        raise(op.v);
        break;
      case 'signal':
        expect(emu.signal(op.v)).toBe(op.v < model.granted ? model.raise(op.v, true) : false);
        break;
      case 'pending':
        emu.configRead(dataAt + 8, 4);
        model.commit();
        break;
      case 'saveRestore':
        emu.restore(JSON.parse(JSON.stringify(emu.save())) as ReturnType<MsiEmulator['save']>);
        model.commit();
        model.flush();
        break;
      case 'reset':
        emu.reset();
        model.reset();
        break;
    }
    const sent = model.take().map((s) => `${vcpuOf(s.msg.lo)}:${s.msg.data & 0xff}`);
    const want = [...new Set(sent)].sort();
    for (let i = 0; i < 200 && irrOf(vm).length < want.length; i++) await t.settle(vm);
    await t.settle(vm);
    const where = `step ${step} ${JSON.stringify(op)} after ${JSON.stringify(c.ops.slice(0, step))}`;
    expect({ where, irr: irrOf(vm) }).toEqual({ where, irr: want });
    const now = t.accepted(vm);
    if (now !== undefined) {
      expect({ where, accepted: now - accepted }).toEqual({ where, accepted: sent.length });
      accepted = now;
    }
    for (let v = 0; v < vm.vcpuCount; v++) vm.clearIrr(v);
  }
  emu.clearRoutes();
}

describeMsiTargets('plain MSI exactly once under random guest/device interleavings', (t) => {
  const runs = t.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 5_000 : 400;
  it(`${runs} random sequences: the APICs receive exactly what the spec model sends`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, (c) => runCase(t, c)),
      { numRuns: runs },
    );
  });
});
