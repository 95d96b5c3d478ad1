/** mshv's part of the shared irqfd engine: its numbers, its encoders (hand-written vectors) and its MSI policy. */
import { isVirtError } from '@tsvmm/virt';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition } from '../src';
import { MSHV_FIRST_GSI, mshvIrqFdBackend } from '../src/implement';

function backend(vcpus = 2) {
  const model = new MshvKernelModel();
  const p = MshvPartition.create({ vcpus, sys: model, memory: model });
  const injected: number[][] = [];
  const b = mshvIrqFdBackend({ sys: model, partitionFd: p.partitionFd, vcpuCount: vcpus, inject: (lo, hi, d) => (injected.push([lo, hi, d]), true) });
  return { model, p, b, injected };
}

test('GSIs from 1 (never 0), no fixed entries, 4095 entries so every GSI is below 4096', () => {
  const { b, p } = backend();
  expect(MSHV_FIRST_GSI).toBe(1);
  expect(b.firstGsi).toBe(1);
  expect(b.table.fixedEntryCount).toBe(0);
  expect(b.maxTableEntries).toBe(4095);
  expect(b.firstGsi + b.maxTableEntries - b.table.fixedEntryCount).toBe(4096);
  expect([b.table.headerSize, b.table.entrySize, b.irqfdArg.size]).toEqual([8, 16, 16]);
  expect(b.ioctlNames).toEqual({ setRouting: 'MSHV_SET_MSI_ROUTING', irqfd: 'MSHV_IRQFD' });
  expect(() => b.table.encodeFixedEntry(new DataView(new ArrayBuffer(16)), 0, 0)).toThrow(RangeError);
  p.dispose();
});

test('the table encoding: header nr @0, rsvd @4; entry gsi, address_lo, address_hi, data', () => {
  const { b, p } = backend();
  const bytes = new Uint8Array(8 + 32).fill(0xcc);
  const v = new DataView(bytes.buffer);
  b.table.encodeHeader(v, 2);
  bytes.fill(0, 8);
  b.table.encodeMsiEntry(v, 8, 1, { addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  b.table.encodeMsiEntry(v, 24, 0x123, { addressLo: 0xfee00004, addressHi: 0, data: 0x8052 });
  expect(Array.from(bytes)).toEqual([
    2, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0,
    0x23, 1, 0, 0, 0x04, 0x00, 0xe0, 0xfe, 0, 0, 0, 0, 0x52, 0x80, 0, 0,
  ]);
  p.dispose();
});

test('the irqfd encoding: fd, resamplefd -1, gsi, flags (0 assign, 1 deassign)', () => {
  const { b, p } = backend();
  const bytes = new Uint8Array(16);
  b.irqfdArg.encode(new DataView(bytes.buffer), 9, 0x102, true);
  expect(Array.from(bytes)).toEqual([9, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2, 1, 0, 0, 0, 0, 0, 0]);
  b.irqfdArg.encode(new DataView(bytes.buffer), 9, 0x102, false);
  expect(Array.from(bytes)).toEqual([9, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2, 1, 0, 0, 1, 0, 0, 0]);
  p.dispose();
});

test('the calls reach the kernel on the partition fd', () => {
  const { b, p, model } = backend();
  const table = new Uint8Array(24);
  const v = new DataView(table.buffer);
  b.table.encodeHeader(v, 1);
  b.table.encodeMsiEntry(v, 8, 1, { addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  expect(b.calls.setRouting(table)).toBe(0);
  const efd = model.eventfd(0, 0);
  const arg = new Uint8Array(16);
  b.irqfdArg.encode(new DataView(arg.buffer), efd, 1, true);
  expect(b.calls.irqfd(arg)).toBe(0);
  expect(b.calls.irqfd(arg)).toBe(-16); // EBUSY: the raw result, not thrown
  model.write(efd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8);
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
  expect(model.hazards).toEqual([]);
  p.dispose();
});

test('the MSI policy refuses, with the reason: upper address, outside 0xFEE, physical destination without a VP, vector 0', () => {
  const { b, p } = backend(2);
  const cases: Array<[unknown, unknown, string, RegExp]> = [
    [0x1_fee00000, 0x41, 'INVALID_MSI', /upper address to be 0/],
    [0xfec00000, 0x41, 'INVALID_MSI', /outside the interrupt window/],
    [0xfee02000, 0x41, 'INVALID_MSI', /APIC ID 2 has no VP/],
    [0xfee01000, 0x400, 'INVALID_MSI', /vector 0/],
    ['x', 0x41, 'INVALID_ARGUMENT', /address/],
  ];
  for (const [a, d, code, why] of cases) {
    let err: unknown;
    try {
      b.parseMsi('IrqFdRoute.setMsi', a, d);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, code as never)).toBe(true);
    expect((err as Error).message).toMatch(why);
  }
  expect(b.parseMsi('IrqFdRoute.setMsi', 0xfee01000, 0x41)).toEqual({ addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  // Logical mode is not bound to a VP index.
  expect(b.parseMsi('IrqFdRoute.setMsi', 0xfee0f004, 0x41).addressLo).toBe(0xfee0f004);
  p.dispose();
});
