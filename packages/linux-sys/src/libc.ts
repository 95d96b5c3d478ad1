/**
 * The one binding of libc (koffi). Loaded lazily, once per thread (koffi works in worker threads;
 * each thread gets its own binding).
 */
import { loadLibrary } from '@tsvmm/ffi';
import { EFD_CLOEXEC, EPOLL_CLOEXEC, F_DUPFD_CLOEXEC, KCMP_FILE, O_CLOEXEC, SYS_KCMP } from './constants';
import { EBADF, ENOSYS } from './errno';
import { type DescriptorBudget, processDescriptorBudget } from './fd-budget';
import { sameEventFdByFdinfo } from './fd-identity';
import type { IoctlDef } from './ioctl';
import { libcFileName } from './platform';
import type { Syscalls } from './syscalls';

interface Libc {
  open: (path: string, flags: number, mode: number) => number;
  close: (fd: number) => number;
  ioctlPtr: (fd: number, request: number, arg: Uint8Array | null) => number;
  ioctlInt: (fd: number, request: number, arg: number) => number;
  read: (fd: number, buf: Uint8Array, count: number) => number;
  write: (fd: number, buf: Uint8Array, count: number) => number;
  eventfd: (initval: number, flags: number) => number;
  poll: (fds: Uint8Array, nfds: number, timeout: number) => number;
  epollCreate1: (flags: number) => number;
  epollCtl: (epfd: number, op: number, fd: number, event: Uint8Array | null) => number;
  epollWait: (epfd: number, events: Uint8Array, maxEvents: number, timeout: number) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  syscall5: (nr: number, a: number, b: number, c: number, d: number, e: number) => number;
}

/**
 * The koffi prototype of every libc function tsvmm calls: the one definition, also handed to the
 * relay's worker thread, which binds its own copy. ioctl, open and syscall are variadic in C; on
 * x86_64 a fixed prototype passes the same registers.
 */
export const LIBC_PROTOTYPES = Object.freeze({
  /** open(2), its optional `mode` argument always passed (as 0). */
  open: 'int open(const char *path, int flags, int mode)',
  /** close(2). */
  close: 'int close(int fd)',
  /** ioctl(2) with a pointer argument: a buffer the kernel reads or writes, or NULL. */
  ioctlPtr: 'int ioctl(int fd, unsigned long request, void *arg)',
  /** ioctl(2) with an integer argument (e.g. `KVM_CHECK_EXTENSION`'s capability number). */
  ioctlInt: 'int ioctl(int fd, unsigned long request, unsigned long arg)',
  /** read(2): bytes read, or -1. */
  read: 'long read(int fd, void *buf, unsigned long count)',
  /** write(2): bytes written, or -1. */
  write: 'long write(int fd, void *buf, unsigned long count)',
  /** eventfd(2). */
  eventfd: 'int eventfd(unsigned int initval, int flags)',
  /** poll(2) on an array of 8-byte `struct pollfd` ({@link POLLFD}); `timeout` in milliseconds. */
  poll: 'int poll(void *fds, unsigned long nfds, int timeout)',
  /** epoll_create1(2). */
  epollCreate1: 'int epoll_create1(int flags)',
  /** epoll_ctl(2) with a 12-byte `struct epoll_event` ({@link EPOLL_EVENT}), or NULL for DEL. */
  epollCtl: 'int epoll_ctl(int epfd, int op, int fd, void *event)',
  /** epoll_wait(2) into an array of `struct epoll_event`; `timeout` in milliseconds, -1 = forever. */
  epollWait: 'int epoll_wait(int epfd, void *events, int maxevents, int timeout)',
  /** fcntl(2) with an integer argument (used for `F_DUPFD_CLOEXEC`). */
  fcntl: 'int fcntl(int fd, int cmd, int arg)',
  /** syscall(2) with five arguments, for calls libc does not wrap (`kcmp`, number 312 on x86_64). */
  syscall5: 'long syscall(long nr, long a, long b, long c, long d, long e)',
});

/** The part of koffi used here besides loading (koffi's own types are ESM-only, this package is CommonJS). */
interface Koffi {
  errno(): number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const koffi = require('koffi') as Koffi;

let libc: Libc | undefined;

function load(): Libc {
  return loadLibrary({ path: libcFileName(), required: LIBC_PROTOTYPES }).functions as unknown as Libc;
}

function bind(): Libc {
  return (libc ??= load());
}

/** The result, or -errno when the call returned a negative value. */
function ret(r: number): number {
  return r < 0 ? -koffi.errno() : r;
}

class LibcSyscalls implements Syscalls {
  private readonly c = bind();

  open(path: string, flags: number): number {
    return ret(this.c.open(path, flags | O_CLOEXEC, 0));
  }
  close(fd: number): number {
    return ret(this.c.close(fd));
  }
  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    if (typeof arg === 'number') return ret(this.c.ioctlInt(fd, request.request, arg));
    return ret(this.c.ioctlPtr(fd, request.request, arg ?? null));
  }
  read(fd: number, buf: Uint8Array, length: number): number {
    return ret(this.c.read(fd, buf, length));
  }
  write(fd: number, buf: Uint8Array, length: number): number {
    return ret(this.c.write(fd, buf, length));
  }
  eventfd(initval: number, flags: number): number {
    return ret(this.c.eventfd(initval, flags | EFD_CLOEXEC));
  }
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
    return ret(this.c.poll(fds, nfds, timeoutMs));
  }
  epollCreate(): number {
    return ret(this.c.epollCreate1(EPOLL_CLOEXEC));
  }
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array | null): number {
    return ret(this.c.epollCtl(epfd, op, fd, event));
  }
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
    return ret(this.c.epollWait(epfd, events, maxEvents, timeoutMs));
  }
  dup(fd: number): number {
    return ret(this.c.fcntl(fd, F_DUPFD_CLOEXEC, 0));
  }
  sameFile(a: number, b: number): number {
    // kcmp(pid, pid, KCMP_FILE, a, b): 0 when both numbers name the same struct file.
    const r = ret(this.c.syscall5(SYS_KCMP, process.pid, process.pid, KCMP_FILE, a, b));
    if (r >= 0) return r === 0 ? 1 : 0;
    // EBADF: a number is closed, nothing to prove. Otherwise kcmp itself is missing or denied
    // (ENOSYS without CONFIG_KCMP; EPERM from a seccomp profile): procfs can still tell eventfds apart.
    if (r === -EBADF) return r;
    return sameEventFdByFdinfo(a, b) ?? r;
  }
  descriptorBudget(): DescriptorBudget | undefined {
    return processDescriptorBudget();
  }
}

let shared: Syscalls | undefined;

/** The real system calls (libc through koffi), one instance per thread. */
export function libcSyscalls(): Syscalls {
  return (shared ??= new LibcSyscalls());
}

/**
 * Whether kcmp(2) works in this process: `available`, `denied` (EPERM or EACCES: a seccomp profile,
 * or a ptrace-access rule) or `missing` (ENOSYS: a kernel without CONFIG_KCMP). Asked with two
 * numbers of one eventfd, opened and closed here.
 */
export function kcmpStatus(): 'available' | 'denied' | 'missing' {
  const c = bind();
  const a = c.eventfd(0, EFD_CLOEXEC);
  if (a < 0) return 'missing';
  try {
    const r = ret(c.syscall5(SYS_KCMP, process.pid, process.pid, KCMP_FILE, a, a));
    if (r >= 0) return 'available';
    return r === -ENOSYS ? 'missing' : 'denied';
  } finally {
    c.close(a);
  }
}

