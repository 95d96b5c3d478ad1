import { encodeMsi } from '../../src';
import { ApicBus, x2apicLogicalId } from '../../src/testing';

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

test.each(['nmi', 'smi', 'init', 'extint'] as const)('an %s message is delivered and counted on its own field only, with nothing in IRR', (mode) => {
  const bus = new ApicBus({ apicIds: [0, 1] });
  const m = encodeMsi({ destinationId: 1, vector: 0, deliveryMode: mode });
  expect(bus.deliver(m.addressLo, m.addressHi, m.data)).toBe(true);
  const counts = (a: ApicBus['apics'][number]) => ({ nmi: a.nmi, smi: a.smi, init: a.init, extint: a.extint, accepted: a.accepted });
  expect(bus.apics.map(counts)).toEqual([
    { nmi: 0, smi: 0, init: 0, extint: 0, accepted: 0 },
    { nmi: 0, smi: 0, init: 0, extint: 0, accepted: 0, [mode]: 1 },
  ]);
  expect(irr(bus)).toEqual([[], []]);
});

test('x2APIC: 32-bit physical IDs, 0xFFFFFFFF broadcasts (0xFF does not), logical cluster mode', () => {
  const bus = new ApicBus({ apicIds: [0, 0xff, 0x100, 0x3e8, 0x3e9], x2apic: true });
  const to = (destinationId: number, vector: number, destinationMode: 'physical' | 'logical' = 'physical') => {
    const m = encodeMsi({ destinationId, vector, destinationMode });
    const r = bus.deliver(m.addressLo, m.addressHi, m.data);
    const out = irr(bus);
    bus.apics.forEach((a) => a.clearIrr());
    return [r, out];
  };
  expect(to(0x3e8, 0x41)).toEqual([true, [[], [], [], [0x41], []]]);
  expect(to(0xff, 0x42)).toEqual([true, [[], [0x42], [], [], []]]);
  expect(to(0xffffffff, 0x43)).toEqual([true, [[0x43], [0x43], [0x43], [0x43], [0x43]]]);
  // 0x3e8 and 0x3e9 share cluster 0x3e; members 8 and 9.
  expect(x2apicLogicalId(0x3e8)).toBe(0x003e0100);
  expect(to(0x003e0300, 0x44, 'logical')).toEqual([true, [[], [], [], [0x44], [0x44]]]);
  expect(to(0x003f0300, 0x45, 'logical')).toEqual([false, [[], [], [], [], []]]);
  expect(to(0x00100001, 0x46, 'logical')).toEqual([true, [[], [], [0x46], [], []]]);
});
