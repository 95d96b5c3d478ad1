/**
 * One interrupt injected from user space: MSHV_ROOT_HVCALL with HvCallAssertVirtualInterrupt
 * (code 0x0094, on the kernel's allow-list; Hyper-V TLFS "HvCallAssertVirtualInterrupt"). Used by
 * `requestMsi` and by the irqfd engine to deliver a signal that latched while a route was not armed.
 *
 * It runs the same injector spec as the overflow relay's worker ({@link mshvRelayInjector}), on
 * this thread and through the given system calls: one encoding of the hypercall. The 32-byte input
 * lives in pinned memory (the kernel reads it through `in_ptr`) and the `mshv_root_hvcall`
 * argument is reused: nothing is allocated per call.
 */
import { type RawInjector, encodeMsiFields, hex } from '@tsvmm/virt/implement';
import { EAGAIN, type Syscalls, ioctlSpecInjector } from '@tsvmm/linux-sys';
import { rootHvcall } from './calls';
import { MshvHypercallError } from './errors';
import type { UserMemory } from './memory';
import { msiToInterrupt } from './msi-policy';
import { ASSERT_INTERRUPT_ATTEMPTS, mshvRelayInjector } from './relay-injector';

export { ASSERT_INTERRUPT_ATTEMPTS };

/** An injector and the pinned input buffer it owns. */
export interface AssertInterruptInjector {
  /**
   * `(addressLo, addressHi, data)` of an already validated MSI → one HvCallAssertVirtualInterrupt;
   * returns true once the hypervisor accepted it. Throws {@link MshvHypercallError}.
   */
  readonly inject: RawInjector;
  /** Frees the pinned input. Idempotent. */
  free(): void;
}

/**
 * An injector bound to one partition fd. The message must already be validated (see
 * `parseMshvMsi`): it is decoded, not checked, here. Returns true once the hypervisor accepted the
 * interrupt (it does not say whether the guest's APIC takes it). Throws {@link MshvHypercallError}.
 */
export function assertInterruptInjector(sys: Syscalls, memory: UserMemory, partitionFd: number, operation: string): AssertInterruptInjector {
  let last = { result: 0, status: 0 };
  const built = ioctlSpecInjector(
    mshvRelayInjector(partitionFd),
    {
      ioctl: (fd, _request, arg) => (last = rootHvcall(sys, fd, arg)).result,
      allocate: (size, align) => memory.allocate(size, align),
      free: (buffer) => memory.free(buffer),
    },
    encodeMsiFields,
  );
  const inject: RawInjector = (addressLo, addressHi, data) => {
    try {
      return built.inject(addressLo, addressHi, data);
    } catch (e) {
      if (last.result >= 0) throw e;
      const errno = -last.result;
      const i = msiToInterrupt({ addressLo, addressHi, data });
      const call = `ioctl(MSHV_ROOT_HVCALL, HvCallAssertVirtualInterrupt vector ${i.vector} to ${i.logical ? 'logical' : 'APIC ID'} ${i.destination}, MSI data ${hex(data)})`;
      const hint =
        errno === EAGAIN
          ? `The hypervisor stayed short of memory after ${ASSERT_INTERRUPT_ATTEMPTS} tries: free memory on the host and try again.`
          : 'The hypervisor refused the interrupt; nothing was injected. Check the status and the kernel release.';
      throw new MshvHypercallError(operation, call, errno, last.status, hint);
    }
  };
  return { inject, free: built.free };
}
