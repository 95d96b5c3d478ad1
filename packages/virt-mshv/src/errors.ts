/**
 * The one error a failed hypercall becomes: a {@link VirtError} that also carries the hypervisor
 * status the kernel wrote back (`mshv_root_hvcall.status`) and the kernel release, since mshv's
 * behaviour differs between kernel versions.
 */
import { release } from 'node:os';
import { VirtError, type VirtErrorCode } from '@tsvmm/virt';
import { errnoCode, errnoName } from '@tsvmm/linux-sys';
import { hvStatusName } from './abi';

/**
 * A failed MSHV_ROOT_HVCALL as a `VirtError`: `code` from the errno (SYSCALL unless the
 * errno says otherwise), `errno` and `errnoName`, and a `detail` naming the call, the hypervisor
 * status (`HV_STATUS_*`, Hyper-V TLFS "Hypercall Status Codes") and the kernel release.
 */
export class MshvHypercallError extends VirtError {
  /** The hypervisor status (0 when the kernel failed before reaching the hypervisor). */
  readonly hvStatus: number;
  /** `uname -r` of the host, for reports. */
  readonly kernelRelease: string;

  constructor(operation: string, call: string, errno: number, hvStatus: number, hint: string, code: VirtErrorCode = errnoCode(errno)) {
    const kernelRelease = release();
    const status = hvStatus === 0 ? 'no hypervisor status' : `${hvStatusName(hvStatus)} (0x${hvStatus.toString(16).padStart(4, '0')})`;
    super(code, {
      operation,
      detail: `${call} failed with ${status} on Linux ${kernelRelease}`,
      hint,
      errno,
      errnoName: errnoName(errno),
    });
    this.hvStatus = hvStatus;
    this.kernelRelease = kernelRelease;
  }
}
