/**
 * The native model delivers in C, on its own thread, so it cannot call the shared ApicBus; this
 * test holds it to the same rules instead (xAPIC and x2APIC partitions): for every message WHP accepts (each mode, destination
 * mode, trigger mode, and destinations that match one, several or no APICs), the vectors the model
 * puts in each VP's IRR are the ones ApicBus (@tsvmm/virt/testing) puts there.
 */
import { encodeMsi, parseMsi } from '@tsvmm/virt';
import { ApicBus } from '@tsvmm/virt/testing';
import { WHP_MSI_POLICY, whpX2apicMsiPolicy } from '../../src/encode';
import { WhpPartition } from '../../src';
import { fresh, take } from '../support/whp-calls';
import { whpModel } from '../support/native-model';

test('the model and ApicBus agree on where every accepted message lands', () => {
  const model = whpModel('full');
  model.reset();
  const vcpus = 4;
  const p = fresh(model, vcpus);
  let compared = 0;
  try {
    for (const deliveryMode of ['fixed', 'lowest-priority'] as const) {
      for (const destinationMode of ['physical', 'logical'] as const) {
        for (const triggerMode of ['edge', 'level'] as const) {
          for (const destinationId of [0, 1, 3, 5, 6, 0xff, 0x0f, 0x80]) {
            const m = encodeMsi({ destinationId, vector: 0x40 + compared, deliveryMode, destinationMode, triggerMode });
            parseMsi('t', m.addressLo, m.data, WHP_MSI_POLICY);
            const bus = new ApicBus({ apicIds: [0, 1, 2, 3] });
            bus.deliver(m.addressLo, m.addressHi, m.data);
            p.requestMsi(m.addressLo, m.data);
            const got = Array.from({ length: vcpus }, (_, v) => take(p, v));
            const want = bus.apics.map((a) => a.state().irr);
            expect([deliveryMode, destinationMode, triggerMode, destinationId, got]).toEqual([deliveryMode, destinationMode, triggerMode, destinationId, want]);
            compared++;
          }
        }
      }
    }
  } finally {
    p.dispose();
  }
  expect(compared).toBe(64);
  model.assertClean();
});

test('x2APIC partitions: the model and an x2APIC ApicBus agree on 32-bit physical, broadcast and cluster destinations', () => {
  const model = whpModel('full');
  model.reset();
  const vcpus = 300;
  const p = WhpPartition.create({ vcpus, x2apic: true, library: model.library });
  const policy = whpX2apicMsiPolicy(vcpus - 1);
  const cluster = (c: number, members: number): number => ((c << 16) | members) >>> 0;
  let compared = 0;
  try {
    for (const deliveryMode of ['fixed', 'lowest-priority'] as const) {
      for (const triggerMode of ['edge', 'level'] as const) {
        const cases = [
          ...[0, 1, 0xff, 0x100, 0x101, 0x12b, 0xffffffff].map((destinationId) => ({ destinationId, destinationMode: 'physical' as const })),
          ...[cluster(0, 0x3), cluster(15, 0x8000), cluster(16, 0x1), cluster(16, 0x6), cluster(18, 0xffff), 0xffffffff].map((destinationId) => ({ destinationId, destinationMode: 'logical' as const })),
        ];
        for (const c of cases) {
          const m = encodeMsi({ ...c, vector: 0x40 + (compared % 0xb0), deliveryMode, triggerMode });
          const address = BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n);
          parseMsi('t', address, m.data, policy);
          const bus = new ApicBus({ apicIds: Array.from({ length: vcpus }, (_, i) => i), x2apic: true });
          bus.deliver(m.addressLo, m.addressHi, m.data);
          p.requestMsi(address, m.data);
          const got = Array.from({ length: vcpus }, (_, v) => take(p, v));
          const want = bus.apics.map((a) => a.state().irr);
          expect([deliveryMode, triggerMode, c, got]).toEqual([deliveryMode, triggerMode, c, want]);
          compared++;
        }
      }
    }
  } finally {
    p.dispose();
  }
  expect(compared).toBe(52);
  model.assertClean();
});
