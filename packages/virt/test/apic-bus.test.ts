import { encodeMsi } from '../src';
import { ApicBus } from '../src/testing';

const irr = (bus: ApicBus) => bus.apics.map((a) => a.state().irr);

test('physical mode lands on the APIC whose ID matches, and nowhere else', () => {
  const bus = new ApicBus({ apicIds: [0, 1, 5] });
  const m = encodeMsi({ destinationId: 5, vector: 0x41 });
  expect(bus.deliver(m.addressLo, m.addressHi, m.data)).toBe(true);
  expect(irr(bus)).toEqual([[], [], [0x41]]);
  const none = encodeMsi({ destinationId: 3, vector: 0x42 });
  expect(bus.deliver(none.addressLo, none.addressHi, none.data)).toBe(false);
  expect(irr(bus)).toEqual([[], [], [0x41]]);
});

test('0xFF broadcasts; logical mode uses the flat model; lowest priority picks one', () => {
  const bus = new ApicBus({ apicIds: [0, 1, 2] });
  const b = encodeMsi({ destinationId: 0xff, vector: 0x50 });
  bus.deliver(b.addressLo, b.addressHi, b.data);
  expect(irr(bus)).toEqual([[0x50], [0x50], [0x50]]);
  bus.apics.forEach((a) => a.clearIrr());
  const l = encodeMsi({ destinationId: 0b110, destinationMode: 'logical', vector: 0x51 });
  bus.deliver(l.addressLo, l.addressHi, l.data);
  expect(irr(bus)).toEqual([[], [0x51], [0x51]]);
  bus.apics.forEach((a) => a.clearIrr());
  const lp = encodeMsi({ destinationId: 0b110, destinationMode: 'logical', deliveryMode: 'lowest-priority', vector: 0x52 });
  bus.deliver(lp.addressLo, lp.addressHi, lp.data);
  expect(irr(bus)).toEqual([[], [0x52], []]);
});

test('a software-disabled APIC blocks the message; coalescing is counted', () => {
  const bus = new ApicBus({ apicIds: [0] });
  const m = encodeMsi({ destinationId: 0, vector: 0x60 });
  bus.deliver(m.addressLo, m.addressHi, m.data);
  bus.deliver(m.addressLo, m.addressHi, m.data);
  expect(bus.apics[0]!.accepted).toBe(2);
  expect(bus.apics[0]!.coalesced).toBe(1);
  bus.apics[0]!.softwareEnabled = false;
  expect(bus.deliver(m.addressLo, m.addressHi, m.data)).toBe(false);
  expect(bus.byApicId(0)).toBe(bus.apics[0]);
  expect(bus.byApicId(9)).toBeUndefined();
});
