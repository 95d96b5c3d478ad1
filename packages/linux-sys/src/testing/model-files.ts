/**
 * The process's descriptor table and eventfds as the kernel models (KVM, mshv) share them: one
 * vocabulary for what every Linux kernel model needs below its own device.
 *
 * Numbers name open files as in POSIX (open(2), dup(2), close(2)): a new number is the lowest free
 * one (0-2 are the standard streams); `dup` adds a number for the same open file; `close` removes
 * one, and the file is released only with its last number, when the owner's release hook runs (an
 * eventfd's release tears its irqfds down: `irqfd_wakeup` on EPOLLHUP deactivates them at once,
 * under the irqfds lock, and only frees them later from a workqueue, which nothing in user space
 * can observe). The table refuses a number past the process's real RLIMIT_NOFILE (less what the
 * process holds when the table is made) with EMFILE, as the kernel would.
 *
 * Eventfds (eventfd(2)) are non-blocking 64-bit counters: a read returns and resets the count
 * (EAGAIN at 0), a write adds the little-endian u64 written (EINVAL for 0xFFFFFFFFFFFFFFFF or fewer
 * than 8 bytes, EAGAIN when the sum would pass 0xFFFFFFFFFFFFFFFE).
 */
import { checkFunction, invalidArgument } from '@tsvmm/virt/implement';
import { EAGAIN, EBADF, EINVAL, EMFILE } from '../errno';
import { type DescriptorBudget, processDescriptorBudget } from '../fd-budget';

/** An eventfd as a kernel model holds it: one open file, whatever numbers name it. */
export interface ModelEventFd {
  /** Always `eventfd`. */
  readonly kind: 'eventfd';
  /** The 64-bit counter: what a read would return (0 reads as EAGAIN: the eventfds are non-blocking). */
  count: bigint;
}

/** The most an eventfd counter holds (ULLONG_MAX - 1, eventfd(2)). */
const EFD_MAX = 0xffff_ffff_ffff_fffen;

/** How a {@link ModelFileTable} is made. */
export interface ModelFileTableOptions<F> {
  /**
   * Most numbers open at once (EMFILE beyond). Default: what this process may still open under its
   * real RLIMIT_NOFILE when the table is made (1 << 20 where procfs cannot tell or nothing limits it).
   */
  readonly maxFds?: number;
  /** Runs when the last number of `file` is closed (the open file is released). */
  readonly onRelease?: (file: F) => void;
}

/** What a process may open now, under its real limit. */
function processHeadroom(): number {
  const real = processDescriptorBudget();
  return real === undefined || real.limit === Infinity ? 1 << 20 : Math.max(0, real.limit - real.open);
}

/**
 * A model process's descriptor table over open files of type `F` (each model's devices, VMs and
 * eventfds), with POSIX number semantics and the eventfd calls. Every call returns the kernel's
 * result or `-errno`, as a `Syscalls` method does.
 */
export class ModelFileTable<F extends object> {
  /** Most numbers open at once; EMFILE beyond. */
  readonly maxFds: number;
  private readonly numbers = new Map<number, F | ModelEventFd>();
  private readonly refs = new Map<F | ModelEventFd, number>();
  /** Every number from 3 up to this one is open. */
  private lowestFree = 3;
  private readonly onRelease: ((file: F | ModelEventFd) => void) | undefined;
  private readonly watchers = new Map<ModelEventFd, () => void>();

  constructor(options: ModelFileTableOptions<F | ModelEventFd> = {}) {
    this.maxFds = options.maxFds ?? processHeadroom();
    this.onRelease = options.onRelease;
  }

  /** Numbers open now (a dup counts as one more). */
  get size(): number {
    return this.numbers.size;
  }

  /** The budget as `Syscalls.descriptorBudget` reports it: {@link maxFds} and the numbers open. */
  budget(): DescriptorBudget {
    return { limit: this.maxFds, open: this.numbers.size };
  }

  /** The open file `fd` names, or undefined when it is closed. */
  get(fd: number): F | ModelEventFd | undefined {
    return this.numbers.get(fd);
  }

  /** The open eventfd `fd` names, or undefined when it is closed or not an eventfd. */
  eventFd(fd: number): ModelEventFd | undefined {
    const f = this.numbers.get(fd);
    return isEventFd(f) ? f : undefined;
  }

  /** Numbers open now whose file satisfies `test` (all of them without one). */
  count(test?: (file: F | ModelEventFd) => boolean): number {
    let n = 0;
    for (const f of this.numbers.values()) if (test === undefined || test(f)) n++;
    return n;
  }

  /** Every open number with its file, in no particular order. */
  entries(): IterableIterator<[number, F | ModelEventFd]> {
    return this.numbers.entries();
  }

  /** The lowest number naming `file`, or undefined when none does. */
  fdOf(file: object): number | undefined {
    let best: number | undefined;
    for (const [fd, f] of this.numbers) if (f === file && (best === undefined || fd < best)) best = fd;
    return best;
  }

  /** How many numbers refer to the open file behind `fd` (0 when `fd` is closed). */
  fileRefs(fd: number): number {
    const f = this.numbers.get(fd);
    return f === undefined ? 0 : (this.refs.get(f) ?? 0);
  }

  /** A new number for `file` (the lowest free), or -EMFILE at {@link maxFds}. */
  install(file: F | ModelEventFd): number {
    if (this.numbers.size >= this.maxFds) return -EMFILE;
    let fd = this.lowestFree;
    while (this.numbers.has(fd)) fd++;
    this.lowestFree = fd + 1;
    this.numbers.set(fd, file);
    this.refs.set(file, (this.refs.get(file) ?? 0) + 1);
    return fd;
  }

  /** close(2): removes one number; the last one releases the file. 0, or -EBADF. */
  close(fd: number): number {
    const f = this.numbers.get(fd);
    if (f === undefined) return -EBADF;
    this.numbers.delete(fd);
    if (fd < this.lowestFree) this.lowestFree = fd;
    const left = (this.refs.get(f) ?? 1) - 1;
    if (left > 0) {
      this.refs.set(f, left);
      return 0;
    }
    this.refs.delete(f);
    if (isEventFd(f)) this.watchers.delete(f);
    this.onRelease?.(f);
    return 0;
  }

  /** `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: the lowest free number for the same open file; -EBADF, -EMFILE. */
  dup(fd: number): number {
    const f = this.numbers.get(fd);
    if (f === undefined) return -EBADF;
    return this.install(f);
  }

  /** `kcmp(pid, pid, KCMP_FILE, a, b)` as a yes/no: 1 when both numbers name one open file, 0 when not, -EBADF when either is closed. */
  sameFile(a: number, b: number): number {
    const x = this.numbers.get(a);
    const y = this.numbers.get(b);
    if (x === undefined || y === undefined) return -EBADF;
    return x === y ? 1 : 0;
  }

  /** eventfd(2) with `initval`: a new number, or -EMFILE. */
  createEventFd(initval: number): number {
    return this.install({ kind: 'eventfd', count: BigInt(initval >>> 0) });
  }

  /** read(2) of an eventfd: 8 and the counter (which resets), -EAGAIN at 0, -EINVAL for a short buffer or another file. */
  readEventFd(fd: number, buf: Uint8Array, length: number): number {
    const f = this.numbers.get(fd);
    if (f === undefined) return -EBADF;
    if (!isEventFd(f) || length < 8 || buf.byteLength < 8) return -EINVAL;
    if (f.count === 0n) return -EAGAIN;
    new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, f.count, true);
    f.count = 0n;
    return 8;
  }

  /**
   * The counting half of write(2) on an eventfd: adds the value written, or returns -errno with
   * nothing changed. Returns the eventfd on success, so the model can do what its kernel does next
   * (drain it into an irqfd, or {@link notifyReadable}).
   */
  addToEventFd(fd: number, buf: Uint8Array, length: number): ModelEventFd | number {
    const f = this.numbers.get(fd);
    if (f === undefined) return -EBADF;
    if (!isEventFd(f) || length < 8 || buf.byteLength < 8) return -EINVAL;
    const value = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
    if (value === 0xffff_ffff_ffff_ffffn) return -EINVAL;
    if (EFD_MAX - f.count < value) return -EAGAIN;
    f.count += value;
    return f;
  }

  /**
   * Calls `ready` whenever a write leaves eventfd `fd` readable and no irqfd drained it (what epoll
   * would report to a waiter). Returns what stops it. INVALID_ARGUMENT when `ready` is not a
   * function or `fd` is not an open eventfd of this model (a test's mistake, not a system call's
   * error: nothing is watched).
   */
  watchEventFd(fd: number, ready: () => void): () => void {
    checkFunction('ModelFileTable.watchEventFd', 'ready', ready);
    const f = this.eventFd(fd);
    if (f === undefined) throw invalidArgument('ModelFileTable.watchEventFd', `fd ${String(fd)} is not an open eventfd of the model`);
    this.watchers.set(f, ready);
    return () => {
      if (this.watchers.get(f) === ready) this.watchers.delete(f);
    };
  }

  /** Wakes the watcher of `f` if it is readable (after a write the kernel did not drain). */
  notifyReadable(f: ModelEventFd): void {
    if (f.count > 0n) this.watchers.get(f)?.();
  }

  /** Eventfd `fd`'s counter, or undefined when `fd` is not an open eventfd. */
  counter(fd: number): bigint | undefined {
    return this.eventFd(fd)?.count;
  }
}

/** True when `f` is a model eventfd. */
export function isEventFd(f: object | undefined): f is ModelEventFd {
  return (f as { kind?: unknown } | undefined)?.kind === 'eventfd';
}
