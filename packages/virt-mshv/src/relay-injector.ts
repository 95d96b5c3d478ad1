/**
 * HvCallAssertVirtualInterrupt as data: the injector the epoll relay's worker builds for mshv (and
 * the one `requestMsi` and the kernel model's waiter run), from the layouts of `abi.ts`.
 *
 * `MSHV_ROOT_HVCALL` on the partition fd, with `struct mshv_root_hvcall` pointing (`in_ptr`) at
 * the 32-byte hypercall input: code 0x0094, in_sz 32, status 0 before every try; the input's
 * control word takes the MSI's delivery mode as the interrupt type (the same numbers), its trigger
 * mode as the level bit and its destination mode as the logical bit; the destination takes the
 * MSI's APIC ID (address bits 19:12: mshv rejects a nonzero upper address), the vector data bits
 * 7:0 (docs/interfaces/mshv.md, "Injecting from user space"; MSI decode as in "Routing"). EAGAIN (older kernels, after depositing memory into the
 * hypervisor) is tried again, {@link ASSERT_INTERRUPT_ATTEMPTS} calls in all.
 */
import { EAGAIN, type IoctlInjectorSpec, ioctlInjector } from '@tsvmm/linux-sys';
import { msiBits } from '@tsvmm/virt/implement';
import {
  HVCALL_ASSERT_VIRTUAL_INTERRUPT,
  HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT,
  HV_INTERRUPT_CONTROL_LEVEL_BIT,
  HV_INTERRUPT_CONTROL_LOGICAL_BIT,
  HV_INTERRUPT_CONTROL_TYPE_BIT,
  MSHV_ROOT_HVCALL,
  MSHV_ROOT_HVCALL_LAYOUT,
} from './abi';

/**
 * Tries per injection when the kernel answers EAGAIN: bounded, so a hypervisor that never has
 * memory is an error, not a hang.
 */
export const ASSERT_INTERRUPT_ATTEMPTS = 8;

/** The injector spec for `partitionFd` (fds are shared by all threads of the process). */
export function mshvRelayInjector(partitionFd: number): IoctlInjectorSpec {
  return ioctlInjector({
    fd: partitionFd,
    ioctl: MSHV_ROOT_HVCALL,
    layout: MSHV_ROOT_HVCALL_LAYOUT,
    fields: { code: HVCALL_ASSERT_VIRTUAL_INTERRUPT, reps: 0, inSz: HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT.size, outSz: 0, status: 0 },
    delivered: 'non-negative',
    input: {
      layout: HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT,
      pointer: 'inPtr',
      align: 8,
      fields: {
        control: {
          bits: [
            msiBits('deliveryMode', HV_INTERRUPT_CONTROL_TYPE_BIT),
            msiBits('triggerMode', HV_INTERRUPT_CONTROL_LEVEL_BIT),
            msiBits('destinationMode', HV_INTERRUPT_CONTROL_LOGICAL_BIT),
          ],
        },
        destination: { bits: [msiBits('destinationId')] },
        vector: { bits: [msiBits('vector')] },
      },
    },
    retry: { errno: EAGAIN, attempts: ASSERT_INTERRUPT_ATTEMPTS },
  });
}
