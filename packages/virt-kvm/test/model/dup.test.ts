/**
 * Numbers and open files on the KVM model, as in POSIX and the kernel: `dup` names the same open
 * file (one eventfd counter, one set of irqfd bindings), `close` removes one number, and the file,
 * with its irqfd (kvm.md: closing the eventfd tears the irqfd down), goes only with its last
 * number. What this buys users (closing `route.event.fd` never crosses two routes) is in
 * ../irqfd.test.ts, on every target.
 */
import { KvmKernelModel } from '../../src/testing';

const O_RDWR = 2;
const EBADF = 9;
const EBUSY = 16;
const req = (name: string, request: number) => ({ name, request });
const CREATE_VM = req('KVM_CREATE_VM', 0xae01);
const CREATE_IRQCHIP = req('KVM_CREATE_IRQCHIP', 0xae60);
const CREATE_VCPU = req('KVM_CREATE_VCPU', 0xae41);
const SET_GSI_ROUTING = req('KVM_SET_GSI_ROUTING', 0x4008ae6a);
const IRQFD = req('KVM_IRQFD', 0x4020ae76);
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** `struct kvm_irqfd` (32 bytes): fd @0, gsi @4, flags @8 (DEASSIGN 1). */
function irqfd(fd: number, gsi: number, flags = 0): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setUint32(0, fd, true);
  v.setUint32(4, gsi, true);
  v.setUint32(8, flags, true);
  return b;
}

/** `struct kvm_irq_routing` with one MSI entry (type 2): gsi @0, type @4, address_lo @16, address_hi @20, data @24. */
function msiTable(gsi: number, addressLo: number, data: number): Uint8Array {
  const b = new Uint8Array(8 + 48);
  const v = new DataView(b.buffer);
  v.setUint32(0, 1, true);
  v.setUint32(8, gsi, true);
  v.setUint32(12, 2, true);
  v.setUint32(24, addressLo, true);
  v.setUint32(32, data, true);
  return b;
}

/** vCPU 0's pending vectors, cleared. */
function takeIrr(m: KvmKernelModel, vcpu = 0): number[] {
  const apic = m.bus.apics[vcpu]!;
  const out: number[] = [];
  for (let w = 0; w < 8; w++) for (let b = 0; b < 32; b++) if ((apic.irr[w]! >>> b) & 1) out.push(w * 32 + b);
  apic.clearIrr();
  return out;
}

describe('KVM model: dup, close and sameFile', () => {
  function vm(): { m: KvmKernelModel; vmFd: number } {
    const m = new KvmKernelModel({ apicIds: [0] });
    const vmFd = m.ioctl(m.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    expect(m.ioctl(vmFd, CREATE_IRQCHIP, 0)).toBe(0);
    m.ioctl(vmFd, CREATE_VCPU, 0);
    m.bus.apics[0]!.softwareEnabled = true;
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, msiTable(40, 0xfee00000, 0x41))).toBe(0);
    return { m, vmFd };
  }

  it('dup is the lowest free number for the same open file; EBADF for a closed one', () => {
    const { m } = vm();
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
    expect(m.eventfdCount(e)).toBe(1n);
    expect(m.dup(999)).toBe(-EBADF);
    expect(m.sameFile(e, 999)).toBe(-EBADF);
    expect(m.sameFile(999, e)).toBe(-EBADF);
  });

  it('sameFile is 0 for two eventfds', () => {
    const { m } = vm();
    expect(m.sameFile(m.eventfd(0, 0), m.eventfd(0, 0))).toBe(0);
  });

  it('closing one of two numbers keeps the file and its irqfd; closing the last tears the irqfd down', () => {
    const { m, vmFd } = vm();
    const e = m.eventfd(0, 0);
    const d = m.dup(e);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 40))).toBe(0);
    expect(m.close(e)).toBe(0);
    expect(m.close(e)).toBe(-EBADF);
    // The file lives on through d: still assigned, a signal through d injects.
    expect(m.irqfdGsi(d)).toBe(40);
    expect(m.write(d, ONE, 8)).toBe(8);
    expect(takeIrr(m)).toEqual([0x41]);
    expect(m.vm.irqfds).toHaveLength(1);
    expect(m.close(d)).toBe(0);
    expect(m.vm.irqfds).toHaveLength(0);
    expect(m.openEventFds).toBe(0);
  });

  it('irqfd identifies the eventfd by its open file: assigning a dup of an assigned eventfd is EBUSY, deassign through the dup works', () => {
    const { m, vmFd } = vm();
    const e = m.eventfd(0, 0);
    const d = m.dup(e);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 40))).toBe(0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(d, 40))).toBe(-EBUSY);
    expect(m.ioctl(vmFd, IRQFD, irqfd(d, 40, 1))).toBe(0);
    expect(m.irqfdGsi(e)).toBeUndefined();
    expect(m.write(e, ONE, 8)).toBe(8);
    expect(takeIrr(m)).toEqual([]);
    expect(m.eventfdCount(d)).toBe(1n);
  });
});
