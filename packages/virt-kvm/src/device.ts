/**
 * Opening /dev/kvm and asking it what it can do.
 */
import { VirtError } from '@tsvmm/virt';
import { EACCES, ENOENT, EPERM, O_RDWR, type Syscalls, check, failure } from '@tsvmm/linux-sys';
import * as kvm from './abi';
import * as calls from './calls';

export const KVM_DEVICE = '/dev/kvm';

/** Opens /dev/kvm (close-on-exec) and checks the API version; UNAVAILABLE / PERMISSION with what to do. */
export function openKvm(sys: Syscalls, operation: string, path = KVM_DEVICE): number {
  const fd = sys.open(path, O_RDWR);
  if (fd < 0) {
    const errno = -fd;
    let hint: string | undefined;
    if (errno === ENOENT) hint = `${path} does not exist: this host has no KVM. Enable virtualization (VT-x/AMD-V, or nested virtualization in a VM) and load kvm_intel or kvm_amd.`;
    else if (errno === EACCES || errno === EPERM) hint = `${path} is not readable and writable by this user: add the user to the kvm group (then log in again), or run as root.`;
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

/** KVM_CHECK_EXTENSION: the capability's value (0 when absent). Errors count as absent. */
export function checkExtension(sys: Syscalls, fd: number, cap: number): number {
  const r = calls.checkExtensionRaw(sys, fd, cap);
  return r < 0 ? 0 : r;
}

/** What the host's KVM offers, as probed with KVM_CHECK_EXTENSION. */
export interface KvmExtensions {
  readonly irqchip: boolean;
  readonly irqRouting: number;
  readonly irqfd: boolean;
  readonly signalMsi: boolean;
  readonly irqfdResample: boolean;
  readonly splitIrqchip: boolean;
  readonly x2apicApi: boolean;
  readonly msiDevid: boolean;
  readonly nrVcpus: number;
  readonly maxVcpus: number;
}

export function probeExtensions(sys: Syscalls, fd: number): KvmExtensions {
  const c = kvm.KVM_CAP;
  const has = (cap: number): number => checkExtension(sys, fd, cap);
  // KVM_CAP_NR_VCPUS is the recommended maximum, KVM_CAP_MAX_VCPUS the hard one; API docs: 4 if absent.
  const nrVcpus = has(c.KVM_CAP_NR_VCPUS) || 4;
  return Object.freeze({
    irqchip: has(c.KVM_CAP_IRQCHIP) > 0,
    irqRouting: has(c.KVM_CAP_IRQ_ROUTING),
    irqfd: has(c.KVM_CAP_IRQFD) > 0,
    signalMsi: has(c.KVM_CAP_SIGNAL_MSI) > 0,
    irqfdResample: has(c.KVM_CAP_IRQFD_RESAMPLE) > 0,
    splitIrqchip: has(c.KVM_CAP_SPLIT_IRQCHIP) > 0,
    x2apicApi: has(c.KVM_CAP_X2APIC_API) > 0,
    msiDevid: has(c.KVM_CAP_MSI_DEVID) > 0,
    nrVcpus,
    maxVcpus: has(c.KVM_CAP_MAX_VCPUS) || nrVcpus,
  });
}
