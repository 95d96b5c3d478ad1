import { encodeMsi, isVirtError } from '@tsvmm/virt';
import { OptionReads } from '@tsvmm/virt/testing';
import { SoftwarePartition, probe } from '../src';

const send = (p: SoftwarePartition, fields: Parameters<typeof encodeMsi>[0]) => {
  const m = encodeMsi(fields);
  return p.requestMsi((BigInt(m.addressHi) << 32n) | BigInt(m.addressLo), m.data);
};

test('physical destination: only the APIC with that ID receives, in IRR', () => {
  using p = SoftwarePartition.create({ vcpus: 3, apicIds: [0, 5, 9] });
  expect(send(p, { destinationId: 5, vector: 0x41 })).toBe(true);
  expect(p.readLocalApic(0).irr).toEqual([]);
  expect(p.readLocalApic(1)).toEqual({ apicId: 5, irr: [0x41], isr: [], tmr: [], softwareEnabled: true });
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

test('capabilities report the largest reachable APIC ID; an extended destination ID is translated with x2APIC and refused without', () => {
  using p = SoftwarePartition.create({ vcpus: 2, apicIds: [0, 0x3e8], x2apic: true });
  expect(p.capabilities).toMatchObject({ x2apic: true, maxApicId: 0xfffffffe });
  // APIC ID 0x3E8: low byte in bits 19:12, bits 14:8 (3) in address bits 11:5.
  const ext = (0xfee00000 | (0xe8 << 12) | (3 << 5)) >>> 0;
  expect(p.requestMsi(ext, 0x41)).toBe(true);
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
  expect(p.readLocalApic(0).irr).toEqual([]);
  using q = SoftwarePartition.create({ vcpus: 1 });
  expect(q.capabilities).toMatchObject({ x2apic: false, maxApicId: 0xfe });
  expect(() => q.requestMsi(ext, 0x41)).toThrow(expect.objectContaining({ code: 'INVALID_MSI', message: expect.stringMatching(/extended destination ID/) }));
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
    resample: true,
    x2apic: false,
    maxApicId: 0xfe,
    maxVcpus: 255,
  });
  expect(Object.isFrozen(p.capabilities)).toBe(true);
  using q = SoftwarePartition.create({ vcpus: 1, x2apic: true });
  expect(q.capabilities.maxVcpus).toBe(256);
  expect(probe()).toMatchObject({ backend: 'software', available: true });
});

test('probe says what an x2APIC partition reaches, and such a partition delivers to that APIC ID', () => {
  const p = probe();
  expect(p.capabilities).toMatchObject({ x2apic: false, maxApicId: 0xfe });
  expect(p.x2apicPartition).toEqual({ available: true, maxApicId: 0xfffffffe, reason: expect.stringMatching(/any up to 4294967294 .* on up to 256 vCPUs/) });
  using wide = SoftwarePartition.create({ vcpus: 1, x2apic: true, apicIds: [p.x2apicPartition!.maxApicId] });
  expect(wide.capabilities.maxApicId).toBe(p.x2apicPartition!.maxApicId);
  expect(wide.readLocalApic(0).apicId).toBe(p.x2apicPartition!.maxApicId);
});

test('an irqfd route delivers inside signal(), synchronously', () => {
  using p = SoftwarePartition.create({ vcpus: 2 });
  const r = p.irqfd()!.newIrqFdRoute();
  r.setMsi(0xfee01000, 0x41);
  r.unmask();
  r.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
});

test('the documented vCPU range is what capabilities say: 255 with xAPIC IDs, 256 with x2APIC IDs', () => {
  {
    using p = SoftwarePartition.create({ vcpus: 255 });
    expect(p.vcpuCount).toBe(p.capabilities.maxVcpus);
    // Every vCPU, up to APIC ID 0xFE, is addressable on its own.
    expect(send(p, { destinationId: 0xfe, vector: 0x41 })).toBe(true);
    expect(p.readLocalApic(254).irr).toEqual([0x41]);
  }
  expect(() => SoftwarePartition.create({ vcpus: 256 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/x2apic: true/) }));
  {
    using p = SoftwarePartition.create({ vcpus: 256, x2apic: true });
    expect(p.vcpuCount).toBe(256);
    expect(p.vcpuCount).toBe(p.capabilities.maxVcpus);
    expect(send(p, { destinationId: 0xff, vector: 0x42 })).toBe(true);
    expect(p.readLocalApic(255).irr).toEqual([0x42]);
  }
  expect(() => SoftwarePartition.create({ vcpus: 257, x2apic: true })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});

test('each option is read exactly once (a getter that changes its answer cannot pass validation and then differ)', () => {
  const reads = new OptionReads();
  using p = SoftwarePartition.create(reads.watch({ vcpus: 2, maxRoutes: 8, x2apic: false, apicIds: undefined }, { later: { vcpus: 200 } }));
  expect(p.vcpuCount).toBe(2);
  expect(reads.counts).toEqual({ vcpus: 1, maxRoutes: 1, x2apic: 1, apicIds: 1 });
});

test('new SoftwarePartition() is INVALID_ARGUMENT naming SoftwarePartition.create(), even with valid options', () => {
  const Ctor = SoftwarePartition as unknown as new (...args: unknown[]) => SoftwarePartition;
  for (const args of [[], [{ vcpus: 2 }], [undefined, { vcpus: 2 }]]) {
    let err: unknown;
    let made: unknown;
    try {
      made = new Ctor(...args);
    } catch (e) {
      err = e;
    }
    expect(made).toBe(undefined);
    expect(isVirtError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain('SoftwarePartition.create()');
  }
  using p = SoftwarePartition.create({ vcpus: 2 });
  expect(p.vcpuCount).toBe(2);
});
