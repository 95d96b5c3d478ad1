/**
 * The injectable system-call interface. Backends call the kernel only through a {@link Syscalls}
 * object, so tests can wrap it (see `@tsvmm/linux-sys/testing`) and fail any call.
 *
 * Every method returns the kernel's result, or `-errno` on failure (as the raw system call does):
 * no exception on the hot path, where EAGAIN from a non-blocking read is an expected answer.
 */
import { checkMethods } from '@tsvmm/virt/implement';
import type { DescriptorBudget } from './fd-budget';
import type { IoctlDef } from './ioctl';

/**
 * The system calls the Linux backends make, each returning the result or `-errno` (never throwing
 * for a kernel failure). fds are plain numbers; buffers are read or written from their byte 0.
 * {@link libcSyscalls} is the real implementation; `FaultInjector` from `@tsvmm/linux-sys/testing`
 * wraps one to fail chosen calls.
 */
export interface Syscalls {
  /** `open(path, flags | O_CLOEXEC)`: a new fd or -errno. */
  open(path: string, flags: number): number;
  /** `close(fd)`: 0 or -errno. The fd is released even when an error is reported (close(2)). */
  close(fd: number): number;
  /** `ioctl(fd, request, arg)`: `arg` is an integer, a buffer the kernel reads/writes, or nothing. */
  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number;
  /** Reads up to `length` bytes into `buf` (from its start): the number of bytes read, or -errno. */
  read(fd: number, buf: Uint8Array, length: number): number;
  /** Writes the first `length` bytes of `buf`: the number of bytes written, or -errno. */
  write(fd: number, buf: Uint8Array, length: number): number;
  /** `eventfd(initval, flags | EFD_CLOEXEC)`. */
  eventfd(initval: number, flags: number): number;
  /** `poll(fds, nfds, timeout)` on an array of encoded `struct pollfd`. */
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  /** `epoll_create1(EPOLL_CLOEXEC)`. */
  epollCreate(): number;
  /** `epoll_ctl(epfd, op, fd, event)` with an encoded `struct epoll_event` (or null for DEL). */
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array | null): number;
  /** `epoll_wait(epfd, events, maxEvents, timeout)`: blocks the calling thread. */
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number;
  /**
   * `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a second, close-on-exec number for the same open file.
   * Optional: without it an {@link EventFd} hands out the number it works on itself.
   */
  dup?(fd: number): number;
  /**
   * Whether two numbers of this process name the same open file: 1 yes, 0 no, or -errno when it
   * cannot be told (`kcmp(2)` with KCMP_FILE). Optional: without it nothing is proven the same.
   */
  sameFile?(a: number, b: number): number;
  /**
   * The process's descriptor budget now (RLIMIT_NOFILE and the descriptors open), or undefined when
   * it cannot be told. Optional: without it a partition's route budget is not derived from it.
   */
  descriptorBudget?(): DescriptorBudget | undefined;
}

/** The members every {@link Syscalls} must have as functions. */
const REQUIRED_CALLS = ['open', 'close', 'ioctl', 'read', 'write', 'eventfd', 'poll', 'epollCreate', 'epollCtl', 'epollWait'] as const satisfies readonly (keyof Syscalls)[];
/** The members a {@link Syscalls} may leave out. */
const OPTIONAL_CALLS = ['dup', 'sameFile', 'descriptorBudget'] as const satisfies readonly (keyof Syscalls)[];

/**
 * Throws INVALID_ARGUMENT unless `value` is an object with every system call of {@link Syscalls}
 * as a function (`dup`, `sameFile` and `descriptorBudget` may be absent); returns it. Backends check an injected
 * `sys` option here once, before opening anything, so a wrong one is not a TypeError later.
 */
export function checkSyscalls(operation: string, name: string, value: unknown): Syscalls {
  return checkMethods<Syscalls>(operation, name, value, REQUIRED_CALLS, OPTIONAL_CALLS);
}
