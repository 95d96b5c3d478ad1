/**
 * Thousands of random interleavings of guest actions (MSI-X Enable and Function Mask, per-vector
 * mask and unmask, Linux-order retargets, PBA reads, save/restore) and device raises on an
 * assigned device, with and without dynamic MSI-X: after every step the guest's local APICs got
 * exactly what the spec model below says the function sent — nothing lost, nothing duplicated —
 * and the PBA reads what the model holds pending.
 *
 * The model: a vector is *live* once the guest has let it deliver since MSI-X was last enabled
 * (that is when it is bound in vfio); a raise on a live vector is delivered to its message if it
 * is open (Enable, no Function Mask, unmasked), else held pending and delivered once when it
 * opens. A raise on a vector that is not live reaches no eventfd (vfio has none for it).
 *
 * Plain MSI the same way: Enable and Multiple Message Enable changes, Linux-order message rewrites
 * and raises of every vector of the capability; a raise reaches the guest iff MSI is enabled and
 * the vector is granted (vfio-pci has no eventfd for the others), with the vector number in the
 * low bits of Message Data.
 *
 * 1,000 MSI-X and 500 MSI sequences on the model (TSVMM_LONG_PROPERTY=1: 5,000 each). On a real
 * device the raises are the vfio loopback, so the same bodies run there with fewer sequences.
 */
import fc from 'fast-check';
import { AssignedPciDevice } from '../src';
import { describeAssignedTargets } from './support/assigned-targets';
import { maskVector, msiAddress, msixControl, pba, programVector } from './support/guest';

const N = 8;

type Op =
  | { k: 'ctrl'; enable: boolean; fm: boolean }
  | { k: 'mask'; v: number; masked: boolean }
  | { k: 'retarget'; v: number; apic: number; vec: number }
  | { k: 'raise'; v: number }
  | { k: 'pba' }
  | { k: 'saveRestore' };

const v = fc.integer({ min: 0, max: N - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ctrl' as const), enable: fc.boolean(), fm: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('mask' as const), v, masked: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('retarget' as const), v, apic: fc.integer({ min: 0, max: 1 }), vec: fc.integer({ min: 0x40, max: 0xef }) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('raise' as const), v }) },
  { weight: 2, arbitrary: fc.constant({ k: 'pba' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'saveRestore' as const }) },
);

describeAssignedTargets('assigned device: random guest/device interleavings lose and duplicate nothing', (target) => {
  const runs = target.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 5000 : 1000;
  it(`${runs} sequences, NORESIZE and dynamic MSI-X`, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 40 }), (dynamicMsix, ops) => {
        using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, dynamicMsix }] });
        const errors: Error[] = [];
        using dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: (e) => errors.push(e) });
        dev.configWrite(0x04, 2, 0x0006);
        const msg = Array.from({ length: N }, (_, i) => ({ apic: 0, vec: 0x40 + i }));
        const masked = Array<boolean>(N).fill(true);
        const live = Array<boolean>(N).fill(false);
        const pending = Array<boolean>(N).fill(false);
        let enabled = false;
        let fm = false;
        for (let i = 0; i < N; i++) programVector(dev, i, 0, 0x40 + i, false);
        env.ack();
        let accepted = env.accepted() ?? 0;
        const open = (i: number) => enabled && !fm && !masked[i];
        for (const op of ops) {
          const expected: string[] = [];
          const deliver = (i: number) => expected.push(`${msg[i]!.apic}:${msg[i]!.vec}`);
          switch (op.k) {
            case 'ctrl':
              msixControl(dev, op.enable, op.fm);
              if (enabled && !op.enable) live.fill(false);
              enabled = op.enable;
              fm = op.fm;
              break;
            case 'mask':
              maskVector(dev, op.v, op.masked);
              masked[op.v] = op.masked;
              break;
            case 'retarget':
              programVector(dev, op.v, op.apic, op.vec, false);
              if (!masked[op.v]) maskVector(dev, op.v, false);
              msg[op.v] = { apic: op.apic, vec: op.vec };
              break;
            case 'raise':
              env.raiseMsix(op.v);
              if (live[op.v]) {
                if (open(op.v)) deliver(op.v);
                else pending[op.v] = true;
              }
              break;
            case 'pba': {
              const want = pending.reduce((b, p, i) => (p ? b | (1 << i) : b), 0);
              expect(pba(dev)).toBe(want);
              break;
            }
            case 'saveRestore':
              dev.restore(dev.save());
              break;
          }
          for (let i = 0; i < N; i++) {
            if (!open(i)) continue;
            live[i] = true;
            if (pending[i]) {
              deliver(i);
              pending[i] = false;
            }
          }
          expect({ op, irr: env.irr() }).toEqual({ op, irr: [...new Set(expected)].sort() });
          const now = env.accepted();
          if (now !== undefined) {
            expect({ op, delivered: now - accepted }).toEqual({ op, delivered: expected.length });
            accepted = now;
          }
          env.ack();
        }
        expect(errors).toEqual([]);
        if (env.model) {
          for (let i = 0; i < N; i++) expect(env.model.bridge.isTrigger(dev.msixRoutes[i]!.event.fd!, 'msix', i)).toBe(dev.boundMsixVectors.includes(i));
          dev.dispose();
          expect(env.model.vfio.hazards).toEqual([]);
          expect(env.model.kvm.hazards).toEqual([]);
        }
      }),
      { numRuns: runs },
    );
  });
});

type MsiOp = { k: 'control'; enable: boolean; mme: number } | { k: 'message'; apic: number; base: number } | { k: 'raise'; v: number };

const msiOpArb: fc.Arbitrary<MsiOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('control' as const), enable: fc.boolean(), mme: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('message' as const), apic: fc.integer({ min: 0, max: 1 }), base: fc.constantFrom(0x40, 0x60, 0x80, 0xa0) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('raise' as const), v: fc.integer({ min: 0, max: 3 }) }) },
);

describeAssignedTargets('assigned device: random plain MSI sequences lose and duplicate nothing', (target) => {
  const runs = target.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 5000 : 500;
  it(`${runs} sequences on a 4-vector MSI capability`, () => {
    fc.assert(
      fc.property(fc.array(msiOpArb, { minLength: 1, maxLength: 40 }), (ops) => {
        using env = target.create();
        const errors: Error[] = [];
        using dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: (e) => errors.push(e) });
        if (!dev.msi || dev.msi.vectors < 4) return; // a real device without a 4-vector MSI block
        const cap = dev.msiCapability!;
        const dataAt = dev.msi.layout.address64 ? 12 : 8;
        dev.configWrite(0x04, 2, 0x0006);
        let enabled = false;
        let mme = 0;
        let apic = 0;
        let base = 0x40;
        const writeMessage = () => {
          dev.configWrite(cap + 4, 4, msiAddress(apic));
          if (dev.msi!.layout.address64) dev.configWrite(cap + 8, 4, 0);
          dev.configWrite(cap + dataAt, 2, base);
        };
        writeMessage();
        let accepted = env.accepted() ?? 0;
        for (const op of ops) {
          const expected: string[] = [];
          switch (op.k) {
            case 'control':
              dev.configWrite(cap + 2, 2, (op.mme << 4) | (op.enable ? 1 : 0));
              enabled = op.enable;
              mme = op.mme;
              break;
            case 'message':
              apic = op.apic;
              base = op.base;
              writeMessage();
              break;
            case 'raise': {
              env.raiseMsi(op.v);
              const n = 1 << mme;
              if (enabled && op.v < n) expected.push(`${apic}:${(base & ~(n - 1)) | op.v}`);
              break;
            }
          }
          expect({ op, irr: env.irr() }).toEqual({ op, irr: expected });
          const now = env.accepted();
          if (now !== undefined) {
            expect({ op, delivered: now - accepted }).toEqual({ op, delivered: expected.length });
            accepted = now;
          }
          env.ack();
        }
        expect(errors).toEqual([]);
        if (env.model) {
          dev.dispose();
          expect(env.model.vfio.hazards).toEqual([]);
        }
      }),
      { numRuns: runs },
    );
  });
});
