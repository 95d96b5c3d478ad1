/**
 * Opening /dev/mshv, with errors that say what the host is missing.
 */
import { EACCES, ENODEV, ENOENT, ENXIO, EPERM, O_RDWR, type Syscalls, devicePermissionHint, failure } from '@tsvmm/linux-sys';
import { MSHV_DEVICE } from './abi';

/** Opens the device (close-on-exec). UNAVAILABLE when it is missing, PERMISSION when not accessible. */
export function openMshv(sys: Syscalls, operation: string, path = MSHV_DEVICE): number {
  const fd = sys.open(path, O_RDWR);
  if (fd >= 0) return fd;
  const errno = -fd;
  let detail = `open(${path}) failed`;
  let hint: string | undefined;
  if (errno === ENOENT || errno === ENODEV || errno === ENXIO) {
    detail = `${path} is missing: this host is not a Microsoft Hypervisor root partition`;
    hint =
      'The mshv driver (mshv_root) exists only where Linux runs as the root partition of the Microsoft Hypervisor ' +
      '(or, from Linux 6.19, a nested "L1VH" root on Azure). Use the KVM backend on other hosts.';
  } else if (errno === EACCES || errno === EPERM) {
    detail = `permission denied opening ${path}`;
    hint = devicePermissionHint(path);
  }
  throw failure(fd, operation, `open(${path})`, hint === undefined ? { detail } : { detail, hint });
}
