/**
 * What the /dev/mshv driver answers to raw ioctls, on the mshv model and on the real device: facts
 * read in the driver (drivers/hv/mshv_root_main.c, mshv_eventfd.c, Linux 6.15+), with argument
 * bytes written by hand (./support/mshv-raw), never through the package's encoders.
 */
import { EAGAIN, EFAULT, EFD_CLOEXEC, EFD_NONBLOCK, EINVAL, type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import { MshvPartition } from '../src';
import { koffiMemory } from '../src/implement';
import { MshvKernelModel } from '../src/testing';
import { GET_VP_STATE, IRQFD, ROOT_HVCALL, SET_MSI_ROUTING, SET_VP_STATE, irqfdArg, le, table } from './support/mshv-raw';
import { takeVcpuDeliveries } from './support/fault-adapter';
import { describeOnTargets } from './support/targets';

/** `struct mshv_get_set_vp_state` (16 bytes): type u8 @0, rsvd[3] @1, buf_sz u32 @4, buf_ptr u64 @8. */
const stateArg = (type: number, size: number, ptr: bigint): Uint8Array => le([0, 'u8', type], [4, 'u32', size], [8, 'u64', ptr])(16);
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
const ONE = le([0, 'u64', 1])(8);

describeOnTargets('mshv driver ABI', (target) => {
  it('MSHV_GET_VP_STATE / MSHV_SET_VP_STATE: a null buf_ptr passes the argument checks and faults when pinned, after 4096 was written into buf_sz', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    for (const request of [GET_VP_STATE, SET_VP_STATE]) {
      const arg = stateArg(0, 8192, 0n);
      expect([request.name, sys.ioctl(p.vpFd(0), request, arg), u32(arg, 4)]).toEqual([request.name, -EFAULT, 4096]);
      // A type past MSHV_VP_STATE_COUNT fails before buf_sz is written.
      const bad = stateArg(5, 8192, 0n);
      expect([request.name, sys.ioctl(p.vpFd(0), request, bad), u32(bad, 4)]).toEqual([request.name, -EINVAL, 8192]);
    }
  });

  it('MSHV_ROOT_HVCALL: an out_ptr without out_sz is EINVAL, before the hypervisor is called', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const memory = target.real ? koffiMemory() : target.modelOf(p);
    const input = memory.allocate(32, 8);
    try {
      // HvCallAssertVirtualInterrupt: fixed, physical, to APIC ID 1, vector 0x41.
      input.bytes.set(le([16, 'u64', 1], [24, 'u32', 0x41])(32));
      const hvcall = (outSz: number, outPtr: bigint): Uint8Array => le([0, 'u16', 0x94], [4, 'u16', 32], [6, 'u16', outSz], [16, 'u64', input.address], [24, 'u64', outPtr])(32);
      const noSize = hvcall(0, 0x1000n);
      expect(sys.ioctl(p.partitionFd, ROOT_HVCALL, noSize)).toBe(-EINVAL);
      expect(u32(noSize, 8) & 0xffff).toBe(0); // no hypervisor status: the hypervisor was not called
      expect(target.takeIrr(p)).toEqual([]);
      const tooBig = hvcall(4097, 0x1000n);
      expect(sys.ioctl(p.partitionFd, ROOT_HVCALL, tooBig)).toBe(-EINVAL);
      expect(target.takeIrr(p)).toEqual([]);
    } finally {
      memory.free(input);
    }
  });

  it('one eventfd assigned in two partitions: only the older irqfd injects (and drains), the younger one only once the older is deassigned', () => {
    // Two partitions on one kernel: one model, or the device.
    const model = target.real ? undefined : new MshvKernelModel();
    const sys: Syscalls = model ?? libcSyscalls();
    using a = MshvPartition.create({ vcpus: 1, ...(model ? { sys: model, memory: model } : {}) });
    using b = MshvPartition.create({ vcpus: 1, ...(model ? { sys: model, memory: model } : {}) });
    expect(sys.ioctl(a.partitionFd, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x41]]))).toBe(0);
    expect(sys.ioctl(b.partitionFd, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x42]]))).toBe(0);
    const efd = sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    expect(efd).toBeGreaterThanOrEqual(0);
    try {
      expect(sys.ioctl(a.partitionFd, IRQFD, irqfdArg(efd, 1))).toBe(0);
      expect(sys.ioctl(b.partitionFd, IRQFD, irqfdArg(efd, 1))).toBe(0);
      expect(sys.write(efd, ONE, 8)).toBe(8);
      expect({ a: takeVcpuDeliveries(a, 0, target.real), b: takeVcpuDeliveries(b, 0, target.real) }).toEqual({ a: [0x41], b: [] });
      expect(sys.read(efd, new Uint8Array(8), 8)).toBe(-EAGAIN); // drained by the older irqfd
      expect(sys.ioctl(a.partitionFd, IRQFD, irqfdArg(efd, 1, 1))).toBe(0);
      expect(sys.write(efd, ONE, 8)).toBe(8);
      expect({ a: takeVcpuDeliveries(a, 0, target.real), b: takeVcpuDeliveries(b, 0, target.real) }).toEqual({ a: [], b: [0x42] });
      expect(sys.ioctl(b.partitionFd, IRQFD, irqfdArg(efd, 1, 1))).toBe(0);
      if (model) expect(model.hazards).toEqual([]);
    } finally {
      sys.close(efd);
    }
  });
});
