import { encodeMsi } from '@tsvmm/virt';
import { SoftwarePartition, probe } from '../src';

const send = (p: SoftwarePartition, fields: Parameters<typeof encodeMsi>[0]) => {
  const m = encodeMsi(fields);
  return p.requestMsi((BigInt(m.addressHi) << 32n) | BigInt(m.addressLo), m.data);
};

test('physical destination: only the APIC with that ID receives, in IRR', () => {
  using p = SoftwarePartition.create({ vcpus: 3, apicIds: [0, 5, 9] });
  expect(send(p, { destinationId: 5, vector: 0x41 })).toBe(true);
  expect(p.readLocalApic(0).irr).toEqual([]);
  expect(p.readLocalApic(1)).toEqual({ apicId: 5, irr: [0x41], isr: [], softwareEnabled: true });
  expect(p.readLocalApic(2).irr).toEqual([]);
  expect(send(p, { destinationId: 7, vector: 0x41 })).toBe(false); // no such APIC
  p.clearIrr(1);
  expect(p.readLocalApic(1).irr).toEqual([]);
});

test('0xFF broadcasts in xAPIC physical mode', () => {
  using p = SoftwarePartition.create({ vcpus: 2 });
  send(p, { destinationId: 0xff, vector: 0x30 });
  expect([p.readLocalApic(0).irr, p.readLocalApic(1).irr]).toEqual([[0x30], [0x30]]);
});

test('logical flat mode addresses a bitmask of APIC IDs; lowest priority picks one', () => {
  using p = SoftwarePartition.create({ vcpus: 3 });
  send(p, { destinationId: 0b110, vector: 0x50, destinationMode: 'logical' });
  expect([0, 1, 2].map((v) => p.readLocalApic(v).irr)).toEqual([[], [0x50], [0x50]]);
  send(p, { destinationId: 0b111, vector: 0x51, destinationMode: 'logical', deliveryMode: 'lowest-priority' });
  expect(p.readLocalApic(0).irr).toEqual([0x51]);
  expect(p.readLocalApic(1).irr).toEqual([0x50]);
});

test('edge signals coalesce in IRR and are counted', () => {
  using p = SoftwarePartition.create({ vcpus: 1 });
  send(p, { destinationId: 0, vector: 0x41 });
  send(p, { destinationId: 0, vector: 0x41 });
  expect(p.readLocalApic(0).irr).toEqual([0x41]);
  expect(p.localApicModel(0).accepted).toBe(2);
  expect(p.localApicModel(0).coalesced).toBe(1);
});

test('level-triggered messages set TMR; NMI and INIT are counted, not put in IRR', () => {
  using p = SoftwarePartition.create({ vcpus: 1 });
  send(p, { destinationId: 0, vector: 0x60, triggerMode: 'level', levelAssert: true });
  expect(p.localApicModel(0).tmr[0x60 >> 5]! & (1 << (0x60 & 31))).not.toBe(0);
  send(p, { destinationId: 0, vector: 0, deliveryMode: 'nmi' });
  send(p, { destinationId: 0, vector: 0, deliveryMode: 'init' });
  expect(p.localApicModel(0)).toMatchObject({ nmi: 1, init: 1 });
  expect(p.readLocalApic(0).irr).toEqual([0x60]);
});

test('a software-disabled APIC blocks vectored messages (requestMsi returns false)', () => {
  using p = SoftwarePartition.create({ vcpus: 1 });
  p.setApicSoftwareEnabled(0, false);
  expect(send(p, { destinationId: 0, vector: 0x41 })).toBe(false);
  expect(p.readLocalApic(0)).toMatchObject({ irr: [], softwareEnabled: false });
});

test('x2APIC IDs above 255 are reachable through the upper address only when enabled', () => {
  using p = SoftwarePartition.create({ vcpus: 2, apicIds: [0, 0x1234], x2apic: true });
  expect(send(p, { destinationId: 0x1234, vector: 0x41 })).toBe(true);
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
  using q = SoftwarePartition.create({ vcpus: 1 });
  expect(() => send(q, { destinationId: 0x100, vector: 0x41 })).toThrow(expect.objectContaining({ code: 'INVALID_MSI' }));
});

test('options are validated before anything is created', () => {
  expect(() => SoftwarePartition.create({ vcpus: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => SoftwarePartition.create({ vcpus: 2, apicIds: [1, 1] })).toThrow(/distinct/);
  expect(() => SoftwarePartition.create({ vcpus: 2, apicIds: [1] })).toThrow(/one APIC ID per vCPU/);
  expect(() => SoftwarePartition.create({ vcpus: 1, apicIds: [0x100] })).toThrow(/apicIds\[0\]/);
  expect(() => SoftwarePartition.create(null as never)).toThrow(/options must be an object/);
  using p = SoftwarePartition.create({ vcpus: 2 });
  expect(() => p.readLocalApic(2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});

test('capabilities are frozen and honest; probe reports it available', () => {
  using p = SoftwarePartition.create({ vcpus: 2, maxRoutes: 10 });
  expect(p.capabilities).toEqual({
    backend: 'software',
    irqfd: 'emulated',
    irqfdReason: expect.any(String),
    maxRoutes: 10,
    resample: false,
    x2apic: false,
    maxVcpus: 256,
  });
  expect(Object.isFrozen(p.capabilities)).toBe(true);
  expect(probe()).toMatchObject({ backend: 'software', available: true });
});

test('an irqfd route delivers inside signal(), synchronously', () => {
  using p = SoftwarePartition.create({ vcpus: 2 });
  const r = p.irqfd()!.newIrqFdRoute();
  r.setMsi(0xfee01000, 0x41);
  r.unmask();
  r.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
});
