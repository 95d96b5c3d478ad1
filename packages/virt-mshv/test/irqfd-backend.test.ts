/** mshv's part of the shared irqfd engine: its numbers, its encoders (hand-written vectors) and its MSI policy. */
import { isVirtError } from '@tsvmm/virt';
import { type IrqFdBackend, IrqFdEngine, RoutingTable } from '@tsvmm/linux-sys';
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

/** `b` with its ioctls recorded (name, fd, argument bytes) instead of issued: what the engine writes from the backend's layout. */
function recording(b: IrqFdBackend): { b: IrqFdBackend; issued: Array<[string, number, number[]]> } {
  const issued: Array<[string, number, number[]]> = [];
  const sys = { ioctl: (fd: number, request: { name: string }, arg?: number | Uint8Array) => (issued.push([request.name, fd, arg instanceof Uint8Array ? Array.from(arg) : []]), 0) };
  return { b: { ...b, sys }, issued };
}

test('GSIs from 1 (never 0), no fixed entries, 4095 entries so every GSI is below 4096', () => {
  const { b, p } = backend();
  expect(MSHV_FIRST_GSI).toBe(1);
  expect(b.firstGsi).toBe(1);
  expect(b.table.fixedEntries.length).toBe(0);
  expect(b.maxTableEntries).toBe(4095);
  expect(b.firstGsi + b.maxTableEntries - b.table.fixedEntries.length / b.table.entrySize).toBe(4096);
  expect([b.table.headerSize, b.table.entrySize, b.irqfdArg.size]).toEqual([8, 16, 16]);
  expect([b.ioctls.setRouting.name, b.ioctls.irqfd.name, b.fd]).toEqual(['MSHV_SET_MSI_ROUTING', 'MSHV_IRQFD', p.partitionFd]);
  p.dispose();
});

test('the table encoding: header nr @0, rsvd @4; entry gsi, address_lo, address_hi, data', () => {
  const { b: real, p } = backend();
  const { b, issued } = recording(real);
  const table = new RoutingTable(b);
  table.set(1, { addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  table.set(0x123, { addressLo: 0xfee00004, addressHi: 0, data: 0x8052 });
  table.commit('test');
  expect(issued).toEqual([
    [
      'MSHV_SET_MSI_ROUTING',
      p.partitionFd,
      // prettier-ignore
      [
        2, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0,
        0x23, 1, 0, 0, 0x04, 0x00, 0xe0, 0xfe, 0, 0, 0, 0, 0x52, 0x80, 0, 0,
      ],
    ],
  ]);
  p.dispose();
});

test('the irqfd encoding: fd, resamplefd -1, gsi, flags (0 assign, 1 deassign)', () => {
  const { b: real, p, model } = backend();
  const { b, issued } = recording(real);
  const engine = new IrqFdEngine({ backend: b, sys: model });
  const route = engine.newIrqFdRoute();
  route.setMsi(0xfee01000, 0x41);
  route.unmask();
  route.mask();
  const fd = route.event.ownFd();
  const fdBytes = [fd & 0xff, (fd >>> 8) & 0xff, (fd >>> 16) & 0xff, fd >>> 24];
  expect(issued.filter(([name]) => name === 'MSHV_IRQFD')).toEqual([
    ['MSHV_IRQFD', p.partitionFd, [...fdBytes, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0]],
    ['MSHV_IRQFD', p.partitionFd, [...fdBytes, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1, 0, 0, 0]],
  ]);
  engine.dispose();
  p.dispose();
});

test('the calls reach the kernel on the partition fd', () => {
  const { b, p, model } = backend();
  const engine = new IrqFdEngine({ backend: b, sys: model });
  const route = engine.newIrqFdRoute();
  route.setMsi(0xfee01000, 0x41);
  route.unmask();
  expect(route.assigned).toBe(true);
  // A second assign of the same eventfd is the kernel's EBUSY, issued on the partition fd.
  const arg = new Uint8Array(16);
  const v = new DataView(arg.buffer);
  v.setUint32(b.irqfdArg.fd, route.event.ownFd(), true);
  v.setUint32(b.irqfdArg.gsi, 1, true);
  expect(model.ioctl(b.fd, b.ioctls.irqfd, arg)).toBe(-16);
  route.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
  expect(model.hazards).toEqual([]);
  engine.dispose();
  p.dispose();
});

test('the MSI policy refuses, with the reason: upper address, outside 0xFEE, physical destination without a VP, vector 0', () => {
  const { b, p } = backend(2);
  const cases: Array<[unknown, unknown, unknown, string, RegExp]> = [
    [0xfee00000, 1, 0x41, 'INVALID_MSI', /upper address to be 0/],
    [0xfec00000, 0, 0x41, 'INVALID_MSI', /outside the interrupt window/],
    [0xfee02000, 0, 0x41, 'INVALID_MSI', /APIC ID 2 has no VP/],
    [0xfee01000, 0, 0x400, 'INVALID_MSI', /vector 0/],
    ['x', 0, 0x41, 'INVALID_ARGUMENT', /address/],
  ];
  for (const [lo, hi, d, code, why] of cases) {
    let err: unknown;
    try {
      b.parseMsi('IrqFdRoute.setMsi', lo as number, hi as number, d as number);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, code as never)).toBe(true);
    expect((err as Error).message).toMatch(why);
  }
  expect(b.parseMsi('IrqFdRoute.setMsi', 0xfee01000, 0, 0x41)).toEqual({ addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  // Logical mode is not bound to a VP index.
  expect(b.parseMsi('IrqFdRoute.setMsi', 0xfee0f004, 0, 0x41).addressLo).toBe(0xfee0f004);
  p.dispose();
});
