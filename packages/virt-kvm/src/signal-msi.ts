/**
 * KVM_SIGNAL_MSI: inject one MSI from user space. Used by `requestMsi` and by the relay on the main
 * thread; the relay's worker thread gets the same call as data (`kvmRelayInjector`).
 */
import type { RawInjector } from '@tsvmm/virt/implement';
import { type Syscalls, failure } from '@tsvmm/linux-sys';
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
