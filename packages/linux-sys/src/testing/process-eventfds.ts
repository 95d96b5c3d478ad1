/**
 * Real eventfds under a kernel model: for running a model of a kernel device (the KVM model of
 * `@tsvmm/virt-kvm/testing`, whose eventfds are counters in memory) with a producer that only the
 * real kernel can be, such as a Linux AIO completion (`AioContext`), which signals a real
 * eventfd and nothing else.
 *
 * Every eventfd the model creates gets a real eventfd beside it ({@link ProcessEventFds.processFdOf}).
 * What the kernel adds to the real one, the model takes in before each call it answers: the
 * counter is read (and so reset) from the real eventfd and written to the model's, which does what
 * the model's kernel does on an eventfd write (an assigned irqfd injects once; otherwise the count
 * waits). That read-then-write is the model's stand-in for the kernel's own wakeup
 * (`eventfd_signal` → `irqfd_wakeup`): nothing in user space ever writes the real eventfd.
 */
import type { Disposable } from '@tsvmm/virt';
import { EFD_NONBLOCK } from '../constants';
import { EAGAIN } from '../errno';
import type { IoctlDef } from '../ioctl';
import { libcSyscalls } from '../libc';
import type { Syscalls } from '../syscalls';
import { ForwardingSyscalls } from './forwarding-syscalls';

interface Pair {
  /** The real eventfd (close-on-exec, non-blocking), owned here. */
  readonly real: number;
  /** The model's numbers for its eventfd (the first and its dups). */
  readonly numbers: Set<number>;
}

/**
 * A {@link Syscalls} over a kernel model (`model`) in which every eventfd also exists as a real
 * eventfd of this process, and what the real kernel signals there reaches the model. Pass it as
 * `sys` where the model would go; give {@link processFdOf}`(route.event.fd)` to the producer.
 *
 * Ownership: the real eventfds are this object's: each is closed with the last model number of its
 * eventfd, and {@link dispose} closes any left. Numbers returned are the model's.
 */
export class ProcessEventFds extends ForwardingSyscalls implements Syscalls, Disposable {
  private readonly pairs = new Map<number, Pair>();
  private readonly counter = new Uint8Array(8);
  private isDisposed = false;

  /**
   * @param model The kernel model answering every call but the real eventfds' (e.g. a `KvmKernelModel`).
   * @param real The process's system calls, for the real eventfds (default {@link libcSyscalls}).
   */
  constructor(
    readonly model: Syscalls,
    private readonly real: Syscalls = libcSyscalls(),
  ) {
    super(model);
  }

  /** The real eventfd paired with the model's eventfd `fd` (any of its numbers), or undefined. */
  processFdOf(fd: number): number | undefined {
    return this.pairs.get(fd)?.real;
  }

  /** Real eventfds open now. */
  get openProcessFds(): number {
    return new Set([...this.pairs.values()].map((p) => p.real)).size;
  }

  /**
   * Moves what the real kernel added to each real eventfd into the model's eventfd (one write of
   * the count read). Every call below does this first; call it to make the model catch up without
   * another call. Returns the signals moved.
   */
  pump(): number {
    let moved = 0;
    const seen = new Set<Pair>();
    for (const [fd, pair] of this.pairs) {
      if (seen.has(pair)) continue;
      seen.add(pair);
      const r = this.real.read(pair.real, this.counter, 8);
      if (r === -EAGAIN || r < 0) continue;
      const w = this.model.write(fd, this.counter, 8);
      if (w === 8) moved += Number(new DataView(this.counter.buffer).getBigUint64(0, true));
    }
    return moved;
  }

  override eventfd(initval: number, flags: number): number {
    const fd = this.model.eventfd(initval, flags);
    if (fd < 0) return fd;
    const real = this.real.eventfd(0, EFD_NONBLOCK);
    if (real < 0) {
      this.model.close(fd);
      return real;
    }
    this.pairs.set(fd, { real, numbers: new Set([fd]) });
    return fd;
  }

  override dup(fd: number): number {
    if (typeof this.model.dup !== 'function') return -38; // ENOSYS: the model cannot duplicate
    this.pump();
    const r = this.model.dup(fd);
    const pair = this.pairs.get(fd);
    if (r >= 0 && pair !== undefined) {
      pair.numbers.add(r);
      this.pairs.set(r, pair);
    }
    return r;
  }

  override close(fd: number): number {
    this.pump();
    const r = this.model.close(fd);
    const pair = this.pairs.get(fd);
    if (r === 0 && pair !== undefined) {
      this.pairs.delete(fd);
      pair.numbers.delete(fd);
      if (pair.numbers.size === 0) this.real.close(pair.real);
    }
    return r;
  }

  // The calls that can observe a real kernel's signal take it in first; the others forward as they are.
  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    this.pump();
    return super.ioctl(fd, request, arg);
  }
  override read(fd: number, buf: Uint8Array, length: number): number {
    this.pump();
    return super.read(fd, buf, length);
  }
  override write(fd: number, buf: Uint8Array, length: number): number {
    this.pump();
    return super.write(fd, buf, length);
  }
  override poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
    this.pump();
    return super.poll(fds, nfds, timeoutMs);
  }
  override epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
    this.pump();
    return super.epollWait(epfd, events, maxEvents, timeoutMs);
  }

  /** Closes every real eventfd still open (their model eventfds stay the model's). Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const reals = new Set([...this.pairs.values()].map((p) => p.real));
    this.pairs.clear();
    for (const fd of reals) this.real.close(fd);
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
