/**
 * Numbers and open files on the mshv model, as in POSIX and the kernel: `dup` names the same open
 * file (one eventfd counter, one set of irqfd bindings), `close` removes one number, and the file,
 * with its irqfds, goes only with its last number. What this buys users (closing
 * `route.event.fd` never crosses two routes) is in ../irqfd.test.ts, on every target.
 */
import { EBADF, EBUSY, type IoctlDef } from '@tsvmm/linux-sys';
import { MshvKernelModel } from '../../src/testing';

const io = (name: string, request: number): IoctlDef => ({ name, request });
const CREATE_PARTITION = io('MSHV_CREATE_PARTITION', 0x4010b800);
const INITIALIZE_PARTITION = io('MSHV_INITIALIZE_PARTITION', 0xb800);
const CREATE_VP = io('MSHV_CREATE_VP', 0x4004b801);
const IRQFD = io('MSHV_IRQFD', 0x4010b803);
const SET_MSI_ROUTING = io('MSHV_SET_MSI_ROUTING', 0x4008b805);
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** `struct mshv_user_irqfd` (16 bytes): fd s32 @0, resamplefd s32 @4, gsi u32 @8, flags u32 @12 (DEASSIGN 1). */
function irqfd(fd: number, gsi: number, flags = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setInt32(0, fd, true);
  v.setInt32(4, -1, true);
  v.setUint32(8, gsi, true);
  v.setUint32(12, flags, true);
  return b;
}

/** `struct mshv_user_irq_table` with one entry: nr u32 @0, rsvd @4; entry gsi @8, address_lo @12, address_hi @16, data @20. */
function msiTable(gsi: number, addressLo: number, data: number): Uint8Array {
  const b = new Uint8Array(8 + 16);
  const v = new DataView(b.buffer);
  v.setUint32(0, 1, true);
  v.setUint32(8, gsi, true);
  v.setUint32(12, addressLo, true);
  v.setUint32(20, data, true);
  return b;
}

/** VP 0's pending vectors in the partition behind `pt`, cleared. */
function takeIrr(m: MshvKernelModel, pt: number): number[] {
  const apic = m.partitionOf(pt)!.bus.apics[0]!;
  const out: number[] = [];
  for (let w = 0; w < 8; w++) for (let b = 0; b < 32; b++) if ((apic.irr[w]! >>> b) & 1) out.push(w * 32 + b);
  apic.clearIrr();
  return out;
}

describe('mshv model: dup, close and sameFile', () => {
  function world(): { m: MshvKernelModel; pt: number } {
    const m = new MshvKernelModel();
    const dev = m.open('/dev/mshv', 2);
    const arg = new Uint8Array(16);
    new DataView(arg.buffer).setBigUint64(0, 1n, true);
    const pt = m.ioctl(dev, CREATE_PARTITION, arg);
    expect(m.ioctl(pt, INITIALIZE_PARTITION, 0)).toBe(0);
    m.ioctl(pt, CREATE_VP, new Uint8Array(4));
    m.partitionOf(pt)!.apic(0)!.softwareEnabled = true;
    expect(m.close(dev)).toBe(0);
    expect(m.ioctl(pt, SET_MSI_ROUTING, msiTable(40, 0xfee00000, 0x41))).toBe(0);
    return { m, pt };
  }

  it('dup is the lowest free number for the same open file; EBADF for a closed one', () => {
    const { m } = world();
    const first = m.eventfd(0, 0);
    const e = m.eventfd(0, 0);
    m.eventfd(0, 0);
    expect(m.close(first)).toBe(0); // the lowest free number is now below e
    const d = m.dup(e);
    expect(d).toBe(first);
    expect(m.sameFile(e, d)).toBe(1);
    expect(m.fileRefs(e)).toBe(2);
    // One counter: a write through one number is read through the other.
    expect(m.write(d, ONE, 8)).toBe(8);
    expect(m.eventfdCounter(e)).toBe(1n);
    expect(m.dup(999)).toBe(-EBADF);
    expect(m.sameFile(e, 999)).toBe(-EBADF);
    expect(m.sameFile(999, e)).toBe(-EBADF);
  });

  it('sameFile is 0 for two eventfds', () => {
    const { m } = world();
    expect(m.sameFile(m.eventfd(0, 0), m.eventfd(0, 0))).toBe(0);
  });

  it('closing one of two numbers keeps the file and its irqfd; closing the last tears the irqfd down', () => {
    const { m, pt } = world();
    const e = m.eventfd(0, 0);
    const d = m.dup(e);
    expect(m.ioctl(pt, IRQFD, irqfd(e, 40))).toBe(0);
    expect(m.close(e)).toBe(0);
    expect(m.close(e)).toBe(-EBADF);
    expect(m.irqfdGsi(pt, d)).toBe(40);
    expect(m.write(d, ONE, 8)).toBe(8);
    expect(takeIrr(m, pt)).toEqual([0x41]);
    expect(m.partitionOf(pt)!.irqfds).toHaveLength(1);
    expect(m.close(d)).toBe(0);
    expect(m.partitionOf(pt)!.irqfds).toHaveLength(0);
    expect(m.openFds('eventfd')).toBe(0);
  });

  it('irqfd identifies the eventfd by its open file: assigning a dup of an assigned eventfd is EBUSY, deassign through the dup works', () => {
    const { m, pt } = world();
    const e = m.eventfd(0, 0);
    const d = m.dup(e);
    expect(m.ioctl(pt, IRQFD, irqfd(e, 40))).toBe(0);
    expect(m.ioctl(pt, IRQFD, irqfd(d, 40))).toBe(-EBUSY);
    expect(m.ioctl(pt, IRQFD, irqfd(d, 40, 1))).toBe(0);
    expect(m.irqfdGsi(pt, e)).toBeUndefined();
    expect(m.write(e, ONE, 8)).toBe(8);
    expect(takeIrr(m, pt)).toEqual([]);
    expect(m.eventfdCounter(d)).toBe(1n);
  });

  it('a dup of the partition fd keeps the partition open until its last number', () => {
    const { m, pt } = world();
    const d = m.dup(pt);
    expect(m.sameFile(pt, d)).toBe(1);
    expect(m.close(pt)).toBe(0);
    expect(m.partitionOf(d)!.partitionFdOpen).toBe(true);
    expect(m.close(d)).toBe(0);
    expect(m.partitions[0]!.partitionFdOpen).toBe(false);
  });
});
