/**
 * One interrupt injected from user space: MSHV_ROOT_HVCALL with HvCallAssertVirtualInterrupt
 * (code 0x0094, on the kernel's allow-list; Hyper-V TLFS "HvCallAssertVirtualInterrupt"). Used by
 * `requestMsi` and by the irqfd engine to deliver a signal that latched while a route was not armed.
 *
 * The 32-byte input lives in pinned memory (the kernel reads it through `in_ptr`) and the
 * `mshv_root_hvcall` argument is reused: nothing is allocated per call.
 */
import { type RawInjector, hex } from '@tsvmm/virt';
import { EAGAIN, type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import {
  HVCALL_ASSERT_VIRTUAL_INTERRUPT,
  HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT,
  HV_INTERRUPT_CONTROL_LEVEL,
  HV_INTERRUPT_CONTROL_LOGICAL,
  MSHV_ROOT_HVCALL_LAYOUT,
} from './abi';
import { encodeAssertVirtualInterrupt, encodeRootHvcall, rootHvcall } from './calls';
import { MshvHypercallError } from './errors';
import { type UserMemory, koffiMemory } from './memory';
import { msiToInterrupt } from './msi-policy';

/**
 * Tries per injection when the kernel answers EAGAIN (older kernels do, after depositing memory
 * into the hypervisor): bounded, so a hypervisor that never has memory is an error, not a hang.
 */
export const ASSERT_INTERRUPT_ATTEMPTS = 8;

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
  const input = memory.allocate(HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT.size, 8);
  const arg = encodeRootHvcall({ code: HVCALL_ASSERT_VIRTUAL_INTERRUPT, inSz: HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT.size, outSz: 0, inPtr: input.address });
  const argView = new DataView(arg.buffer);
  const statusAt = MSHV_ROOT_HVCALL_LAYOUT.fields.status.offset;
  let freed = false;
  const inject: RawInjector = (addressLo, addressHi, data) => {
    const i = msiToInterrupt({ addressLo, addressHi, data });
    let control = BigInt(i.type);
    if (i.level) control |= HV_INTERRUPT_CONTROL_LEVEL;
    if (i.logical) control |= HV_INTERRUPT_CONTROL_LOGICAL;
    encodeAssertVirtualInterrupt({ control, destination: i.destination, vector: i.vector }, input.bytes);
    for (let attempt = 1; ; attempt++) {
      argView.setUint16(statusAt, 0, true); // the kernel refuses a nonzero input status
      const r = rootHvcall(sys, partitionFd, arg);
      if (r.result >= 0) return true;
      const errno = -r.result;
      if (errno === EAGAIN && attempt < ASSERT_INTERRUPT_ATTEMPTS) continue;
      const call = `ioctl(MSHV_ROOT_HVCALL, HvCallAssertVirtualInterrupt vector ${i.vector} to ${i.logical ? 'logical' : 'APIC ID'} ${i.destination}, MSI data ${hex(data)})`;
      const hint =
        errno === EAGAIN
          ? `The hypervisor stayed short of memory after ${ASSERT_INTERRUPT_ATTEMPTS} tries: free memory on the host and try again.`
          : 'The hypervisor refused the interrupt; nothing was injected. Check the status and the kernel release.';
      throw new MshvHypercallError(operation, call, errno, r.status, hint);
    }
  };
  return {
    inject,
    free: () => {
      if (freed) return;
      freed = true;
      memory.free(input);
    },
  };
}

/**
 * The worker-thread injector factory (loaded by module path by the overflow path's worker):
 * HvCallAssertVirtualInterrupt on `partitionFd` (fds are shared by all threads of the process),
 * with process memory from koffi.
 */
export function mshvWorkerInjector(partitionFd: number): RawInjector {
  return assertInterruptInjector(libcSyscalls(), koffiMemory(), partitionFd, 'overflow worker: inject').inject;
}
