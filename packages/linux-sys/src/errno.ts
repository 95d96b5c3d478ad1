/**
 * errno names (x86_64 Linux) and the one mapping from a failed system call to a {@link VirtError}.
 */
import { VirtError, type VirtErrorCode } from '@tsvmm/virt';

/** Operation not permitted. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EPERM = 1;
/** No such file or directory. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENOENT = 2;
/** Interrupted system call. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EINTR = 4;
/** I/O error. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EIO = 5;
/** No such device or address. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENXIO = 6;
/** Argument list too long. Value from `include/uapi/asm-generic/errno-base.h`. */
export const E2BIG = 7;
/** Bad file descriptor: the number is not an open fd. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EBADF = 9;
/** Try again; the answer of a non-blocking read of an empty eventfd. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EAGAIN = 11;
/** Out of memory. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENOMEM = 12;
/** Permission denied (file mode of a device node). Value from `include/uapi/asm-generic/errno-base.h`. */
export const EACCES = 13;
/** Bad address: the kernel could not access an argument buffer. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EFAULT = 14;
/** Device or resource busy (KVM_IRQFD: the eventfd is already assigned). Value from `include/uapi/asm-generic/errno-base.h`. */
export const EBUSY = 16;
/** File exists (epoll_ctl ADD: the fd is already in the set). Value from `include/uapi/asm-generic/errno-base.h`. */
export const EEXIST = 17;
/** No such device. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENODEV = 19;
/** Invalid argument. Value from `include/uapi/asm-generic/errno-base.h`. */
export const EINVAL = 22;
/** File table overflow: the system-wide limit on open files. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENFILE = 23;
/** Too many open files in this process (RLIMIT_NOFILE). Value from `include/uapi/asm-generic/errno-base.h`. */
export const EMFILE = 24;
/** Not a typewriter: the fd does not support this ioctl. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENOTTY = 25;
/** No space left on device. Value from `include/uapi/asm-generic/errno-base.h`. */
export const ENOSPC = 28;
/** Function not implemented: the kernel lacks this system call. Value from `include/uapi/asm-generic/errno.h`. */
export const ENOSYS = 38;
/** Operation not supported. Value from `include/uapi/asm-generic/errno.h`. */
export const EOPNOTSUPP = 95;

const NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 15: 'ENOTBLK', 16: 'EBUSY', 17: 'EEXIST',
  18: 'EXDEV', 19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY',
  26: 'ETXTBSY', 27: 'EFBIG', 28: 'ENOSPC', 29: 'ESPIPE', 30: 'EROFS', 31: 'EMLINK', 32: 'EPIPE', 33: 'EDOM',
  34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 39: 'ENOTEMPTY', 40: 'ELOOP',
  61: 'ENODATA', 62: 'ETIME', 75: 'EOVERFLOW', 95: 'EOPNOTSUPP', 110: 'ETIMEDOUT', 125: 'ECANCELED',
});

/** `EBUSY` for 16; `errno 999` for numbers without a name. */
export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

/** The errno for a name such as `EBUSY`, or undefined. */
export function errnoByName(name: string): number | undefined {
  for (const [n, v] of Object.entries(NAMES)) if (v === name) return Number(n);
  return undefined;
}

/**
 * The system call a failure came from, as far as the mapping cares: `open` and `ioctl` reach
 * devices (where EPERM/EACCES mean permission and ENOENT/ENODEV/ENXIO a missing driver); on every
 * other call the same numbers mean something about the fd or the arguments, not about the host.
 */
export type SyscallKind = 'open' | 'ioctl' | 'close' | 'read' | 'write' | 'eventfd' | 'poll' | 'epoll_create1' | 'epoll_ctl' | 'epoll_wait' | 'dup' | 'kcmp' | 'other';

/** The kind of a call description such as `ioctl(KVM_IRQFD)` or `epoll_ctl(EPOLL_CTL_ADD, 7)`. */
export function syscallKind(call: string): SyscallKind {
  const name = /^\s*([a-z_0-9]+)/.exec(call)?.[1] ?? '';
  switch (name) {
    case 'open':
    case 'openat':
      return 'open';
    case 'ioctl':
    case 'close':
    case 'read':
    case 'write':
    case 'eventfd':
    case 'poll':
    case 'epoll_create1':
    case 'epoll_ctl':
    case 'epoll_wait':
    case 'dup':
    case 'kcmp':
      return name;
    case 'fcntl':
      return 'dup';
    default:
      return 'other';
  }
}

/**
 * The {@link VirtErrorCode} for `errno`. With `call` (the failed call, e.g. `epoll_ctl(...)`), the
 * mapping depends on it: PERMISSION and UNAVAILABLE only come from calls that may reach a device
 * (`open`, `ioctl`, or a call this layer does not know); on the fd calls it issues itself (read,
 * write, close, eventfd, poll, epoll_*, dup, kcmp) those errnos are SYSCALL.
 */
export function errnoCode(errno: number, call?: string): VirtErrorCode {
  const device = call === undefined || reachesDevice(syscallKind(call));
  switch (errno) {
    case EBUSY:
      return 'BUSY';
    case EACCES:
    case EPERM:
      return device ? 'PERMISSION' : 'SYSCALL';
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return device ? 'UNAVAILABLE' : 'SYSCALL';
    default:
      return 'SYSCALL';
  }
}

const DEFAULT_HINTS: Readonly<Record<number, string>> = Object.freeze({
  [EPERM]: 'Run as a user allowed to do this (for /dev/kvm: a member of the kvm group, or root).',
  [EACCES]: 'Grant read/write access to the device node (for /dev/kvm: add the user to the kvm group, then log in again).',
  [ENOENT]: 'The device node or file does not exist: load the driver (for KVM: modprobe kvm_intel or kvm_amd) or check the path.',
  [ENODEV]: 'The driver behind the device is not loaded or the hardware is missing.',
  [ENXIO]: 'The device is not present: load its driver.',
  [EBUSY]: 'The resource is in use: release it (e.g. deassign or dispose the irqfd that owns this eventfd) first.',
  [EMFILE]: 'This process has too many open files: raise RLIMIT_NOFILE (ulimit -n) or dispose unused routes.',
  [ENFILE]: 'The system has too many open files: raise fs.file-max or close files elsewhere.',
  [ENOMEM]: 'The kernel is out of memory for this request: free memory or use fewer routes/vCPUs.',
  [EINVAL]: 'The kernel rejected an argument: this usually means an unsupported flag or a value beyond a kernel limit.',
  [EBADF]: 'The file descriptor is not open: it was closed elsewhere (every fd has exactly one owner).',
  [EFAULT]: 'The kernel could not read or write the argument buffer: this is a bug in tsvmm, please report it.',
  [ENOTTY]: 'The file descriptor does not support this ioctl: the kernel is too old or the fd is of the wrong kind.',
  [ENOSYS]: 'The kernel does not implement this call.',
  [EINTR]: 'A signal interrupted the call: try again.',
  [EAGAIN]: 'The resource is temporarily unavailable: try again.',
});

function reachesDevice(kind: SyscallKind): boolean {
  return kind === 'open' || kind === 'ioctl' || kind === 'other';
}

/** Hints that depend on the call as well as the errno (what the number means there). */
const CALL_HINTS: Partial<Record<SyscallKind, Readonly<Record<number, string>>>> = {
  epoll_ctl: {
    [EPERM]: 'The file does not support epoll (it is not an eventfd): only events created by this relay can be watched.',
    [ENOENT]: 'The fd is not in the epoll set: it was closed or replaced by another file since it was added.',
    [EEXIST]: 'The fd is already in the epoll set: another route watches the same open file.',
    [EBADF]: 'The fd or the epoll fd is not open: it was closed elsewhere (every fd has exactly one owner).',
  },
  kcmp: {
    [EPERM]: 'This process may not compare its own fds (kcmp is restricted here, e.g. by a seccomp or Yama policy).',
    [ENOSYS]: 'The kernel was built without kcmp (CONFIG_KCMP).',
  },
};

/** Options of {@link errnoError}, {@link check} and {@link failure}: how the error reads. */
export interface ErrnoErrorOptions {
  /** One sentence on what failed; default: `<operation> failed`. */
  readonly detail?: string;
  /** Overrides the default hint for this errno. */
  readonly hint?: string;
  /** Overrides the code the errno maps to. */
  readonly code?: VirtErrorCode;
  /** What became of the caller's state (e.g. "The route was left as it was."), appended to the hint. */
  readonly outcome?: string;
  /**
   * The failed call (`epoll_ctl(EPOLL_CTL_DEL, 7)`): the code and hint then depend on the call as
   * well as the errno (see {@link errnoCode}). `check` and `failure` pass it.
   */
  readonly call?: string;
}

/**
 * The {@link VirtError} for a failed system call: `operation` names what the caller was doing,
 * `errno` is the positive error number. The code comes from {@link errnoCode} (unless
 * `options.code` overrides it); the error carries `errno`, its name, and a hint for the errno
 * (specific to the call when `options.call` is given).
 */
export function errnoError(operation: string, errno: number, options: ErrnoErrorOptions = {}): VirtError {
  const kind = options.call === undefined ? undefined : syscallKind(options.call);
  const device = kind === undefined || reachesDevice(kind);
  const callHint = kind === undefined ? undefined : CALL_HINTS[kind]?.[errno];
  // Device-flavoured default hints (kvm group, modprobe) only fit calls that reach a device.
  const deviceOnly = errno === EPERM || errno === EACCES || errno === ENOENT || errno === ENODEV || errno === ENXIO;
  const defaultHint = !device && deviceOnly ? `${errnoName(errno)} from ${options.call}: see its manual page for what this errno means there.` : DEFAULT_HINTS[errno];
  return new VirtError(options.code ?? errnoCode(errno, options.call), {
    operation,
    detail: options.detail ?? 'the system call failed',
    hint: [options.hint ?? callHint ?? defaultHint ?? 'See the errno for the cause.', options.outcome].filter(Boolean).join(' '),
    errno,
    errnoName: errnoName(errno),
  });
}
