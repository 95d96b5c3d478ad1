/**
 * The native model delivers in C, on its own thread, so it cannot call the shared ApicBus; this
 * test holds it to the same rules instead: for every message WHP accepts (each mode, destination
 * mode, trigger mode, and destinations that match one, several or no APICs), the vectors the model
 * puts in each VP's IRR are the ones ApicBus (@tsvmm/virt/testing) puts there.
 */
import { encodeMsi, parseMsi } from '@tsvmm/virt';
import { ApicBus } from '@tsvmm/virt/testing';
import { WHP_MSI_POLICY } from '../src/encode';
import { fresh, take } from './helpers';
import { whpModel } from './model';

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
