/**
 * The {@link Syscalls} surface every Linux kernel model (KVM, mshv, VFIO) shares below its own
 * device: the process's descriptor table and its eventfds ({@link ModelFileTable}), so a model
 * implements only `open`, its device ioctls, and what its kernel does when a file is released or
 * an eventfd is written.
 */
import { checkFunction, checkInteger, describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { ENOSYS } from '../errno';
import type { DescriptorBudget } from '../fd-budget';
import type { IoctlDef } from '../ioctl';
import type { Syscalls } from '../syscalls';
import { type ModelEventFd, ModelFileTable } from './model-files';

/**
 * A kernel model over open files of type `F` (its devices, VMs, partitions...) and eventfds. Every
 * call returns the kernel's result or `-errno`, as a `Syscalls` method does; numbers, `dup`,
 * `close` and the eventfd counters follow {@link ModelFileTable}. `poll` and epoll are not
 * modelled (ENOSYS) unless a model overrides them: a user-space relay runs against a model through
 * `ModelRelayPlatform` instead.
 *
 * Arguments of the wrong type for the C call (a descriptor that is not an integer in the range of
 * `int`, a count or length that is negative or not an integer, a buffer that is not a Uint8Array, a
 * callback that is not a function) are INVALID_ARGUMENT, thrown before anything changes: a real
 * system call could not even be made with them. A descriptor number of the right type that names
 * nothing is what the kernel says, -EBADF, not a throw.
 */
export abstract class ModelKernel<F extends object> implements Syscalls {
  /**
   * The process's descriptors and eventfds: each model's own files plus the eventfds. For the
   * model's own code; tests read the same table through {@link files}.
   *
   * @hidden
   */
  protected readonly table: ModelFileTable<F>;

  /**
   * @param maxFds - Most numbers open at once (EMFILE beyond); default: what this process may still
   *   open under its real RLIMIT_NOFILE when the model is made.
   */
  constructor(maxFds: number | undefined) {
    this.table = new ModelFileTable<F>({
      ...(maxFds === undefined ? {} : { maxFds }),
      onRelease: (f) => this.release(f),
    });
  }

  /** The process's descriptors and eventfds, shared vocabulary with the other kernel models. */
  get files(): ModelFileTable<object> {
    // The table is invariant in F only through its release hook, which callers of `files` never
    // reach: what they read (files, counters, watchers) is the same table seen as objects.
    return this.table as unknown as ModelFileTable<object>;
  }

  /** open(2) of one of the model's device nodes: a new number, or -errno (ENOENT for any other path). */
  abstract open(path: string, flags: number): number;

  /** ioctl(2) on an open number: the model's device ioctls; -EBADF for a closed number, -ENOTTY for a request the file does not take. */
  abstract ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number;

  /**
   * The kernel's release of `file`, once its last number is closed (an eventfd's release tears
   * down what its kernel bound to it). Nothing by default.
   */
  protected release(_file: F | ModelEventFd): void {}

  /**
   * What the kernel does after a successful write to eventfd `e` (its counter already added to):
   * by default, wakes its watcher when it is readable. A model whose kernel binds eventfds (an
   * irqfd, a virqfd) drains and injects here instead.
   */
  protected eventFdWritten(e: ModelEventFd): void {
    this.table.notifyReadable(e);
  }

  /**
   * close(2): removes one number. The open file lives on while another number (a dup) still
   * refers to it; only the last close releases it. 0, or -EBADF for a closed number.
   */
  close(fd: number): number {
    checkFd('ModelKernel.close', 'fd', fd);
    return this.table.close(fd);
  }

  /**
   * `fcntl(fd, F_DUPFD_CLOEXEC, 0)` (POSIX dup): the lowest free number, referring to the same open
   * file (the same eventfd counter, the same bindings). -EBADF for a closed number, -EMFILE at the limit.
   */
  dup(fd: number): number {
    checkFd('ModelKernel.dup', 'fd', fd);
    return this.table.dup(fd);
  }

  /** `kcmp(pid, pid, KCMP_FILE, a, b)` as a yes/no: 1 when both numbers name one open file, 0 when not, -EBADF when either is closed. */
  sameFile(a: number, b: number): number {
    checkFd('ModelKernel.sameFile', 'a', a);
    checkFd('ModelKernel.sameFile', 'b', b);
    return this.table.sameFile(a, b);
  }

  /** The model's own budget: the `maxFds` it was made with and the numbers it has open. */
  descriptorBudget(): DescriptorBudget {
    return this.table.budget();
  }

  /** read(2) of an eventfd: 8 and the counter (which resets), -EAGAIN at 0, -EINVAL for a short buffer or another file, -EBADF. */
  read(fd: number, buf: Uint8Array, length: number): number {
    checkIo('ModelKernel.read', fd, buf, length);
    return this.table.readEventFd(fd, buf, length);
  }

  /**
   * write(2) of 8 bytes to an eventfd: adds the little-endian u64 to its counter (EINVAL for
   * 0xFFFFFFFFFFFFFFFF or fewer than 8 bytes, EAGAIN when it would overflow), then does what the
   * model's kernel does on the wakeup, inside the write (a write of 0 too: every successful write
   * wakes the eventfd's waiters, eventfd_write). Returns 8 or -errno.
   */
  write(fd: number, buf: Uint8Array, length: number): number {
    checkIo('ModelKernel.write', fd, buf, length);
    const e = this.table.addToEventFd(fd, buf, length);
    if (typeof e === 'number') return e;
    this.eventFdWritten(e);
    return 8;
  }

  /**
   * eventfd(2) with `initval` (the model's eventfds are always non-blocking): a new number, or
   * -EMFILE. INVALID_ARGUMENT unless `initval` is an integer from 0 to 0xFFFFFFFF (an `unsigned int`)
   * and `flags` an integer in the range of `int`.
   */
  eventfd(initval: number, flags: number): number {
    checkInteger('ModelKernel.eventfd', 'initval', initval, 0, 0xffff_ffff);
    checkInteger('ModelKernel.eventfd', 'flags', flags, INT_MIN, INT_MAX);
    return this.table.createEventFd(initval);
  }

  /** poll(2): not modelled, -ENOSYS. */
  poll(_fds: Uint8Array, _nfds: number, _timeoutMs: number): number {
    return -ENOSYS;
  }

  /** epoll_create1(2): not modelled, -ENOSYS. */
  epollCreate(): number {
    return -ENOSYS;
  }

  /** epoll_ctl(2): not modelled, -ENOSYS. */
  epollCtl(_epfd: number, _op: number, _fd: number, _event: Uint8Array | null): number {
    return -ENOSYS;
  }

  /** epoll_wait(2): not modelled, -ENOSYS. */
  epollWait(_epfd: number, _events: Uint8Array, _maxEvents: number, _timeoutMs: number): number {
    return -ENOSYS;
  }

  /**
   * What to pass as `relayPlatform` on this model, which has no epoll for the default relay's worker
   * thread: the hint of the ENOSYS error a partition's relay gets without one (see
   * `defaultRelayPlatform`). A model of a backend names that backend's own model relay platform.
   */
  relayPlatformAdvice(): string {
    return "Pass the model's relay platform as relayPlatform (modelRelayPlatform(model) of the backend's testing subpath): it delivers relay routes on the model without a thread.";
  }

  /** How many numbers refer to the open file behind `fd` (0 when `fd` is closed). */
  fileRefs(fd: number): number {
    checkFd('ModelKernel.fileRefs', 'fd', fd);
    return this.table.fileRefs(fd);
  }

  /**
   * Calls `ready` after every write that leaves eventfd `fd` readable and that nothing the kernel
   * bound to it drained (what epoll would report to a waiter: a user-space relay's). Returns what
   * stops it. INVALID_ARGUMENT when `fd` is not an integer or `ready` not a function (nothing is
   * watched then), or `fd` is not an open eventfd of the model.
   */
  watchEventFd(fd: number, ready: () => void): () => void {
    checkFd('ModelKernel.watchEventFd', 'fd', fd);
    checkFunction('ModelKernel.watchEventFd', 'ready', ready);
    return this.table.watchEventFd(fd, ready);
  }
}

/** The range of C `int`, a descriptor's type. */
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** INVALID_ARGUMENT unless `fd` is an integer a C `int` holds (any such number, open or not, is the kernel's to answer). */
function checkFd(operation: string, name: string, fd: unknown): void {
  checkInteger(operation, name, fd, INT_MIN, INT_MAX);
}

/** The arguments of read(2) and write(2): a descriptor, a Uint8Array, and a `size_t` length. */
function checkIo(operation: string, fd: unknown, buf: unknown, length: unknown): void {
  checkFd(operation, 'fd', fd);
  if (!(buf instanceof Uint8Array)) throw invalidArgument(operation, `buf must be a Uint8Array, got ${describeValue(buf)}`);
  checkInteger(operation, 'length', length, 0, Number.MAX_SAFE_INTEGER);
}
