/**
 * KVM_SIGNAL_MSI: inject one MSI from user space. Used by `requestMsi`, by the relay on the main
 * thread, and by the relay's worker thread (through {@link kvmSignalMsiInjector}).
 */
import type { RawInjector } from '@tsvmm/virt';
import { type Syscalls, failure, libcSyscalls } from '@tsvmm/linux-sys';
import { KVM_MSI_LAYOUT } from './abi';
import * as calls from './calls';

const F = KVM_MSI_LAYOUT.fields;

/** An injector bound to one VM fd: true when delivered, false when the guest blocked it. */
export function signalMsiInjector(sys: Syscalls, vmFd: number, operation: string): RawInjector {
  const bytes = new Uint8Array(KVM_MSI_LAYOUT.size); // flags, devid and padding stay zero
  const view = new DataView(bytes.buffer);
  return (addressLo, addressHi, data) => {
    view.setUint32(F.addressLo.offset, addressLo >>> 0, true);
    view.setUint32(F.addressHi.offset, addressHi >>> 0, true);
    view.setUint32(F.data.offset, data >>> 0, true);
    const r = calls.signalMsi(sys, vmFd, bytes);
    if (r < 0) throw failure(r, operation, 'ioctl(KVM_SIGNAL_MSI)');
    return r > 0;
  };
}

/**
 * The relay worker's injector factory (loaded by module path in the worker thread): KVM_SIGNAL_MSI
 * on `vmFd` (fds are shared by all threads of the process).
 */
export function kvmSignalMsiInjector(vmFd: number): RawInjector {
  return signalMsiInjector(libcSyscalls(), vmFd, 'relay worker: inject');
}
