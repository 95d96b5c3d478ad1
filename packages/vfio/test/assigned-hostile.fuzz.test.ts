/**
 * A hostile guest: config and BAR accesses of any offset, size, alignment and value (including
 * ones no CPU could issue, as a VMM's decoder bug might pass them) never throw into the VMM, and
 * leave vfio and KVM consistent: every vector the device object says is bound is bound in vfio
 * to its route's event, and disposing leaves nothing behind. Model only: fuzzing a real device's
 * registers could wedge it.
 */
import fc from 'fast-check';
import { AssignedPciDevice } from '../src';
import { describeAssignedTargets } from './support/assigned-targets';

const weird = [-1, -4096, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER];
const offsetArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 0x1100 }) }, { weight: 1, arbitrary: fc.constantFrom(...weird) });
const barOffsetArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 0x4010 }) }, { weight: 1, arbitrary: fc.constantFrom(...weird) });
const sizeArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(1, 2, 4) }, { weight: 1, arbitrary: fc.constantFrom(0, 3, 8, -1, Number.NaN, 1.5) });
const valueArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 40, 0.25, Number.NaN) });

type Op =
  | { k: 'cr'; offset: number; size: number }
  | { k: 'cw'; offset: number; size: number; value: number }
  | { k: 'br'; bar: number; offset: number; length: number }
  | { k: 'bw'; bar: number; offset: number; bytes: Uint8Array }
  | { k: 'raise'; v: number; msi: boolean };

const barArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 6, 1.5, Number.NaN) });
// Bias config writes to the interesting places: Command, BARs, the MSI, MSI-X and PCI Express capabilities.
const hotOffset = fc.oneof(offsetArb, fc.integer({ min: 0x04, max: 0x06 }), fc.integer({ min: 0x10, max: 0x33 }), fc.integer({ min: 0x40, max: 0x5c }), fc.integer({ min: 0x60, max: 0x6c }));
const pcieArb = fc.constantFrom(false as const, { flr: true }, { flr: false });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cr' as const), offset: hotOffset, size: sizeArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('cw' as const), offset: hotOffset, size: sizeArb, value: valueArb }) },
  fc.record({ k: fc.constant('br' as const), bar: barArb, offset: barOffsetArb, length: fc.integer({ min: 0, max: 24 }) }),
  { weight: 3, arbitrary: fc.record({ k: fc.constant('bw' as const), bar: barArb, offset: fc.oneof(barOffsetArb, fc.integer({ min: 0, max: 0x90 }), fc.integer({ min: 0x1ff8, max: 0x2010 })), bytes: fc.uint8Array({ maxLength: 24 }) }) },
  fc.record({ k: fc.constant('raise' as const), v: fc.integer({ min: 0, max: 7 }), msi: fc.boolean() }),
);

describeAssignedTargets('assigned device: hostile guest accesses', (target) => {
  (target.real ? it.skip : it)('never throw, and leave vfio and KVM consistent (model only: a real device could be wedged)', () => {
    fc.assert(
      fc.property(fc.boolean(), pcieArb, fc.array(opArb, { maxLength: 80 }), (dynamicMsix, pcie, ops) => {
        using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, dynamicMsix, pcie }] });
        const dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: () => undefined });
        for (const op of ops) {
          switch (op.k) {
            case 'cr': {
              const r = dev.configRead(op.offset, op.size);
              expect(Number.isInteger(r) && r >= 0 && r <= 0xffffffff).toBe(true);
              break;
            }
            case 'cw':
              dev.configWrite(op.offset, op.size, op.value);
              break;
            case 'br':
              dev.barRead(op.bar, op.offset, new Uint8Array(op.length));
              break;
            case 'bw':
              dev.barWrite(op.bar, op.offset, op.bytes);
              break;
            case 'raise':
              if (op.msi) env.raiseMsi(op.v & 3);
              else env.raiseMsix(op.v);
              break;
          }
        }
        const m = env.model!;
        const bound = dev.boundMsixVectors;
        for (let v = 0; v < 8; v++) expect(m.bridge.isTrigger(dev.msixRoutes[v]!.event.fd!, 'msix', v)).toBe(bound.includes(v));
        if (bound.length > 0) expect(dev.msix!.enabled).toBe(true);
        dev.dispose();
        expect(env.vm.irqfd()!.routeCount).toBe(0);
        expect(m.vfio.device().irq.mode).toBe('none');
        expect(m.vfio.device().kernelFlrs).toBe(0); // Initiate FLR never reaches vfio-pci
        expect(m.vfio.hazards).toEqual([]);
        expect(m.kvm.hazards).toEqual([]);
      }),
      { numRuns: process.env.TSVMM_LONG_PROPERTY === '1' ? 5000 : 250 },
    );
  });
});
