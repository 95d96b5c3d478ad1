/**
 * KVM level routes (resample irqfds on the IOAPIC's GSIs), on the KVM model and on the real
 * /dev/kvm: what KVM_IRQFD gets, descriptors, typed failures with nothing left behind, the missing
 * capability, and the IOAPIC read and written with KVM_GET_IRQCHIP / KVM_SET_IRQCHIP. Delivery,
 * coalescing, EOI and resample are the conformance suite's level cases.
 */
import { type IoApicRedirection, isVirtError, newLevelRoute } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { EBADF, EBUSY, EINVAL, type Syscalls } from '@tsvmm/linux-sys';
import { packStruct } from '@tsvmm/ffi';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import * as kvm from '../src/abi';
import { DESCRIPTORS_PER_ROUTE, describeOnTargets } from './support/targets';

const ENTRY: IoApicRedirection = { vector: 0x61, deliveryMode: 'fixed', destinationMode: 'physical', destination: 1, trigger: 'level', masked: false };

/** A FaultInjector whose KVM_CHECK_EXTENSION reports KVM_CAP_IRQFD_RESAMPLE missing. */
class NoResample extends FaultInjector {
  override ioctl(fd: number, request: Parameters<Syscalls['ioctl']>[1], arg?: number | Uint8Array): number {
    if (request.request === kvm.KVM_CHECK_EXTENSION.request && arg === kvm.KVM_CAP.KVM_CAP_IRQFD_RESAMPLE) return 0;
    return super.ioctl(fd, request, arg);
  }
}

describeOnTargets('KVM level routes', (target) => {
  it('KVM_IRQFD gets the route eventfd, the GSI, KVM_IRQFD_FLAG_RESAMPLE and the resample eventfd; dispose deassigns and closes all four descriptors', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const before = target.openFdCount();
    const mark = sys.mark();
    const r = newLevelRoute(p.irqfd()!, 5);
    const calls = sys.callsSince(mark);
    expect(calls.map((c) => c.label)).toEqual(['eventfd', 'dup', 'eventfd', 'dup', 'KVM_IRQFD']);
    expect(target.openFdCount() - before).toBe(2 * DESCRIPTORS_PER_ROUTE);
    expect(r.event.fd).not.toBe(r.resample.fd);
    if (!target.real) {
      const vm = target.modelOf(p).vm;
      expect(vm.irqfds).toHaveLength(1);
      const q = vm.irqfds[0]!;
      expect(q.gsi).toBe(5);
      // The kernel binds the open files: the route's trigger and its resample eventfd.
      expect(target.modelOf(p).irqfdGsi(r.event.fd!)).toBe(5);
      expect(q.resamplefd).toBeDefined();
      expect(target.modelOf(p).fileRefs(r.resample.fd!)).toBe(2);
    }
    const dmark = sys.mark();
    r.dispose();
    const after = sys.callsSince(dmark);
    expect(after[0]?.label).toBe('KVM_IRQFD');
    expect(after.filter((c) => c.label === 'close')).toHaveLength(4);
    expect(target.openFdCount()).toBe(before);
    if (!target.real) expect(target.modelOf(p).vm.irqfds).toHaveLength(0);
    r.dispose();
    expect(sys.callsSince(dmark)).toHaveLength(after.length);
  });

  it('a bad GSI is INVALID_ARGUMENT before any system call; a second route on a GSI is BUSY with nothing opened', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const irqfd = p.irqfd()!;
    const mark = sys.mark();
    for (const bad of [24, -1, 0.5, '3', null]) expect(thrownBy(() => irqfd.newLevelRoute!(bad as never))).toMatchObject({ code: 'INVALID_ARGUMENT', operation: 'IrqFd.newLevelRoute' });
    expect(sys.callsSince(mark)).toEqual([]);
    using r = irqfd.newLevelRoute!(7);
    const before = target.openFdCount();
    const m2 = sys.mark();
    expect(thrownBy(() => irqfd.newLevelRoute!(7))).toMatchObject({ code: 'BUSY' });
    expect(sys.callsSince(m2)).toEqual([]);
    expect(target.openFdCount()).toBe(before);
    expect(r.disposed).toBe(false);
  });

  it.each([
    [EINVAL, 'SYSCALL'],
    [EBUSY, 'BUSY'],
  ])('KVM_IRQFD refusing with errno %i is a typed %s error with the errno, both eventfds closed, the GSI still free', (errno, code) => {
    using p = target.create();
    const sys = target.sysOf(p);
    const before = target.openFdCount();
    sys.fail(kvm.KVM_IRQFD, errno);
    const e = thrownBy(() => newLevelRoute(p.irqfd()!, 9));
    expect(isVirtError(e)).toBe(true);
    expect(e).toMatchObject({ code, errno, operation: 'IrqFd.newLevelRoute' });
    expect(target.openFdCount()).toBe(before);
    if (!target.real) expect(target.modelOf(p).vm.irqfds).toHaveLength(0);
    newLevelRoute(p.irqfd()!, 9).dispose();
    expect(target.openFdCount()).toBe(before);
  });

  it('a trigger the user disposed themselves: the route never passes its stale number to KVM_IRQFD again', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const r = newLevelRoute(p.irqfd()!, 4);
    r.event.dispose();
    if (!target.real) expect(target.modelOf(p).vm.irqfds).toHaveLength(0); // closing the eventfd tore the irqfd down
    const mark = sys.mark();
    r.dispose();
    expect(sys.callsSince(mark).filter((c) => c.label === 'KVM_IRQFD')).toEqual([]);
  });

  it('without KVM_CAP_IRQFD_RESAMPLE: capabilities.resample is false and newLevelRoute is UNSUPPORTED naming it, with no system call', () => {
    using p = target.create({ wrap: (inner) => new NoResample(inner) });
    expect(p.capabilities.resample).toBe(false);
    const sys = target.sysOf(p);
    const mark = sys.mark();
    const e = thrownBy(() => newLevelRoute(p.irqfd()!, 3));
    expect(e).toMatchObject({ code: 'UNSUPPORTED' });
    expect((e as Error).message).toMatch(/KVM_CAP_IRQFD_RESAMPLE/);
    expect(sys.callsSince(mark)).toEqual([]);
  });

  it("the user-space relay (irqfd: 'relay'): capabilities.resample is false and newLevelRoute is UNSUPPORTED naming the relay", () => {
    const p = target.create({ irqfd: 'relay' });
    try {
      expect(p.capabilities.resample).toBe(false);
      const e = thrownBy(() => newLevelRoute(p.irqfd()!, 3));
      expect(e).toMatchObject({ code: 'UNSUPPORTED' });
      expect((e as Error).message).toMatch(/user-space relay/);
    } finally {
      p.dispose();
    }
    return p.whenClosed();
  });

  it('with kernel irqfd and KVM_CAP_IRQFD_RESAMPLE, capabilities.resample is true', () => {
    using p = target.create();
    expect(p.capabilities.resample).toBe(true);
  });

  it('writeRedirection programs a pin through KVM_GET_IRQCHIP then KVM_SET_IRQCHIP, and readIoApic reads it back; a bad entry is refused before any call', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const mark = sys.mark();
    p.writeRedirection(12, ENTRY);
    expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_GET_IRQCHIP', 'KVM_SET_IRQCHIP']);
    const pin = p.readIoApic().pins[12]!;
    expect(pin).toEqual({ ...ENTRY, remoteIrr: false, asserted: false });
    // Pins start masked (kvm_ioapic_reset).
    expect(p.readIoApic().pins[13]!.masked).toBe(true);
    const m2 = sys.mark();
    for (const bad of [{ ...ENTRY, vector: 3 }, { ...ENTRY, destination: 256 }, { ...ENTRY, trigger: 'both' }, null]) {
      expect(thrownBy(() => p.writeRedirection(12, bad as never))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(thrownBy(() => p.writeRedirection(24, ENTRY))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(sys.callsSince(m2)).toEqual([]);
    sys.fail(kvm.KVM_SET_IRQCHIP, EINVAL);
    expect(thrownBy(() => p.writeRedirection(12, { ...ENTRY, masked: true }))).toMatchObject({ code: 'SYSCALL', errno: EINVAL });
    expect(p.readIoApic().pins[12]!.masked).toBe(false);
  });

  it('raw KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE: EINVAL without an irqchip, EBADF for a closed resamplefd, EINVAL for one that is not an eventfd, EBUSY for an eventfd already assigned', () => {
    const sys = target.newSyscalls();
    const kvmFd = sys.open('/dev/kvm', 2);
    expect(kvmFd).toBeGreaterThanOrEqual(0);
    const vm = sys.ioctl(kvmFd, kvm.KVM_CREATE_VM, 0);
    const fds = [sys.eventfd(0, 0o4000), sys.eventfd(0, 0o4000), sys.eventfd(0, 0o4000)];
    const [trigger, resample, other] = fds as [number, number, number];
    const assign = (fd: number, resamplefd: number): number => sys.ioctl(vm, kvm.KVM_IRQFD, packStruct(kvm.KVM_IRQFD_LAYOUT, { fd, gsi: 10, flags: kvm.KVM_IRQFD_FLAG_RESAMPLE, resamplefd }));
    try {
      expect(assign(trigger, resample)).toBe(-EINVAL); // no in-kernel irqchip yet
      expect(sys.ioctl(vm, kvm.KVM_CREATE_IRQCHIP, 0)).toBe(0);
      expect(assign(trigger, 1_000_000)).toBe(-EBADF);
      expect(assign(trigger, vm)).toBe(-EINVAL);
      expect(assign(trigger, resample)).toBe(0);
      expect(assign(trigger, other)).toBe(-EBUSY);
      // Deassign needs no RESAMPLE flag; after it the eventfd can be assigned again.
      expect(sys.ioctl(vm, kvm.KVM_IRQFD, packStruct(kvm.KVM_IRQFD_LAYOUT, { fd: trigger, gsi: 10, flags: kvm.KVM_IRQFD_FLAG_DEASSIGN, resamplefd: 0 }))).toBe(0);
      expect(assign(trigger, other)).toBe(0);
    } finally {
      for (const fd of [...fds, vm, kvmFd]) sys.close(fd);
    }
  });

  it('the partition disposes its level routes (and their descriptors) with it; then newLevelRoute is DISPOSED', () => {
    const before = target.openFdCount();
    const p = target.create();
    const irqfd = p.irqfd()!;
    const r = newLevelRoute(irqfd, 2);
    p.dispose();
    expect(r.disposed).toBe(true);
    expect(target.openFdCount()).toBe(before);
    expect(thrownBy(() => newLevelRoute(irqfd, 2))).toMatchObject({ code: 'DISPOSED' });
  });
});
