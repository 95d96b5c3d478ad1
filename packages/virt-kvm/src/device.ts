/**
 * Opening /dev/kvm and asking it what it can do.
 */
import { VirtError } from '@tsvmm/virt';
import { decodeStruct, packStruct } from '@tsvmm/ffi';
import { EACCES, ENOENT, EPERM, O_RDWR, type Syscalls, check, devicePermissionHint, failure } from '@tsvmm/linux-sys';
import * as kvm from './abi';
import * as calls from './calls';

/** The KVM device node, the default `device` of {@link openKvm} and `KvmPartition.create`. */
export const KVM_DEVICE = '/dev/kvm';

/**
 * Opens the KVM device (close-on-exec, read-write) and checks that KVM_GET_API_VERSION reports 12.
 * Returns the fd; the caller owns it.
 *
 * @param sys - the system calls (libc, or a model in tests)
 * @param operation - names the caller in errors, such as `KvmPartition.create`
 * @param path - the device node, default {@link KVM_DEVICE}
 * @throws VirtError UNAVAILABLE when the node is missing (ENOENT, ENODEV, ENXIO: no KVM on this
 *   host), PERMISSION on EACCES / EPERM (each with a hint saying what to do on this host, read from
 *   the node's owner, group and mode: `devicePermissionHint`), SYSCALL for another
 *   errno of `open` or KVM_GET_API_VERSION, UNSUPPORTED for another API version. The fd is closed
 *   again on every failure after `open`.
 */
export function openKvm(sys: Syscalls, operation: string, path = KVM_DEVICE): number {
  const fd = sys.open(path, O_RDWR);
  if (fd < 0) {
    const errno = -fd;
    let hint: string | undefined;
    // kvm_pvm (PVM, pagetable-based virtualization) provides /dev/kvm inside a guest that has no VT-x/AMD-V; a kernel
    // that itself runs as a PVM guest can host no KVM at all (PVM does not nest).
    if (errno === ENOENT)
      hint =
        `${path} does not exist: this host has no KVM. Enable virtualization (VT-x/AMD-V, or nested virtualization in a VM) and load kvm_intel or kvm_amd; ` +
        'in a VM without hardware virtualization, load kvm_pvm (PVM). If `dmesg` reports that this kernel is itself running as a PVM guest (kvm-pvm), KVM cannot run here: use the host that runs it.';
    else if (errno === EACCES || errno === EPERM) hint = devicePermissionHint(path);
    throw failure(fd, operation, `open(${path})`, hint === undefined ? {} : { hint });
  }
  try {
    const version = check(calls.getApiVersion(sys, fd), operation, 'ioctl(KVM_GET_API_VERSION)');
    if (version !== kvm.KVM_API_VERSION) {
      throw new VirtError('UNSUPPORTED', {
        operation,
        detail: `${path} reports KVM API version ${version}, tsvmm needs ${kvm.KVM_API_VERSION}`,
        hint: 'Use a Linux kernel with the stable KVM API (every kernel since 2.6.22 reports 12).',
      });
    }
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  return fd;
}

/**
 * KVM_CHECK_EXTENSION on /dev/kvm or a VM fd: the capability's value, 0 when absent. A failing
 * call counts as absent and never throws.
 *
 * @param cap - a `KVM_CAP` number (`include/uapi/linux/kvm.h`)
 */
export function checkExtension(sys: Syscalls, fd: number, cap: number): number {
  const r = calls.checkExtensionRaw(sys, fd, cap);
  return r < 0 ? 0 : r;
}

/** What the host's KVM offers, as probed with KVM_CHECK_EXTENSION. */
export interface KvmExtensions {
  /** KVM_CAP_IRQCHIP: in-kernel PIC, IOAPIC and local APICs. A partition needs it. */
  readonly irqchip: boolean;
  /** KVM_CAP_IRQ_ROUTING: the most entries per routing table (4096 on current kernels), 0 when absent. */
  readonly irqRouting: number;
  /** KVM_CAP_IRQFD: kernel irqfd (with `irqRouting`, what kernel-mediated routes need). */
  readonly irqfd: boolean;
  /** KVM_CAP_SIGNAL_MSI: one-shot MSIs from user space (`requestMsi`, the relay). */
  readonly signalMsi: boolean;
  /** KVM_CAP_IRQFD_RESAMPLE: level-triggered irqfds with a resample eventfd. */
  readonly irqfdResample: boolean;
  /** KVM_CAP_SPLIT_IRQCHIP: local APICs in the kernel, PIC and IOAPIC in user space. */
  readonly splitIrqchip: boolean;
  /** KVM_CAP_X2APIC_API: 32-bit x2APIC IDs in MSI `address_hi` can be enabled (`x2apic: true` partitions do). */
  readonly x2apicApi: boolean;
  /** What KVM_CAP_X2APIC_API reports: the `KVM_X2APIC_API_*` flags KVM_ENABLE_CAP accepts (0 when absent). */
  readonly x2apicApiFlags: number;
  /**
   * KVM_CAP_MAX_VCPU_ID: vCPU ids (the initial APIC IDs) run from 0 to this minus 1; the
   * KVM_CAP_MAX_VCPUS value when the kernel does not say (API documentation).
   */
  readonly maxVcpuId: number;
  /** KVM_CAP_MSI_DEVID: MSIs may carry a device ID. */
  readonly msiDevid: boolean;
  /** KVM_CAP_NR_VCPUS: the recommended most vCPUs per VM; 4 when the kernel does not say. */
  readonly nrVcpus: number;
  /** KVM_CAP_MAX_VCPUS: the hard most vCPUs per VM; `nrVcpus` when the kernel does not say. */
  readonly maxVcpus: number;
}

/**
 * Asks `fd` (/dev/kvm or a VM fd) for every capability this backend looks at, with
 * {@link checkExtension}. Never throws: a failing query counts as absent. Returns a frozen object.
 */
export function probeExtensions(sys: Syscalls, fd: number): KvmExtensions {
  const c = kvm.KVM_CAP;
  const has = (cap: number): number => checkExtension(sys, fd, cap);
  // KVM_CAP_NR_VCPUS is the recommended maximum, KVM_CAP_MAX_VCPUS the hard one; API docs: 4 if absent.
  const nrVcpus = has(c.KVM_CAP_NR_VCPUS) || 4;
  const maxVcpus = has(c.KVM_CAP_MAX_VCPUS) || nrVcpus;
  const x2apicApiFlags = has(c.KVM_CAP_X2APIC_API);
  return Object.freeze({
    irqchip: has(c.KVM_CAP_IRQCHIP) > 0,
    irqRouting: has(c.KVM_CAP_IRQ_ROUTING),
    irqfd: has(c.KVM_CAP_IRQFD) > 0,
    signalMsi: has(c.KVM_CAP_SIGNAL_MSI) > 0,
    irqfdResample: has(c.KVM_CAP_IRQFD_RESAMPLE) > 0,
    splitIrqchip: has(c.KVM_CAP_SPLIT_IRQCHIP) > 0,
    x2apicApi: x2apicApiFlags > 0,
    x2apicApiFlags,
    msiDevid: has(c.KVM_CAP_MSI_DEVID) > 0,
    nrVcpus,
    maxVcpus,
    maxVcpuId: has(c.KVM_CAP_MAX_VCPU_ID) || maxVcpus,
  });
}

/**
 * Whether KVM_GET_SUPPORTED_CPUID on /dev/kvm (`kvmFd`) sets leaf 1 ECX bit 21 (x2APIC), asked with
 * room for KVM_MAX_CPUID_ENTRIES entries; the call's `-errno` when it fails (E2BIG cannot happen
 * with that room on current kernels). Never throws.
 */
export function supportedCpuidX2apic(sys: Syscalls, kvmFd: number): boolean | number {
  const table = new Uint8Array(kvm.KVM_CPUID2.size + kvm.KVM_MAX_CPUID_ENTRIES * kvm.KVM_CPUID_ENTRY2.size);
  table.set(packStruct(kvm.KVM_CPUID2, { nent: kvm.KVM_MAX_CPUID_ENTRIES, padding: 0 }), 0);
  const r = calls.getSupportedCpuid(sys, kvmFd, table);
  if (r < 0) return r;
  const view = new DataView(table.buffer);
  const nent = Math.min(Number(decodeStruct(kvm.KVM_CPUID2, view).nent), kvm.KVM_MAX_CPUID_ENTRIES);
  for (let i = 0; i < nent; i++) {
    const e = decodeStruct(kvm.KVM_CPUID_ENTRY2, view, kvm.KVM_CPUID2.size + i * kvm.KVM_CPUID_ENTRY2.size);
    if (e.function === 1 && e.index === 0) return (Number(e.ecx) & kvm.CPUID_1_ECX_X2APIC) !== 0;
  }
  return false;
}
