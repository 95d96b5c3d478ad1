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
 * 1,000 sequences on the model (TSVMM_LONG_PROPERTY=1: 5,000). On a real device the raises are the
 * vfio loopback, so the same body runs there with fewer sequences.
 */
import fc from 'fast-check';
import { AssignedPciDevice } from '../src';
import { describeAssignedTargets } from './support/assigned-targets';
import { maskVector, msixControl, pba, programVector } from './support/guest';

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
