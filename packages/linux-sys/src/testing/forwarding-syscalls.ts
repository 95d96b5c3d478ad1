/**
 * A {@link Syscalls} that hands every call to another one (`inner`), for the wrappers that stand
 * between a backend and a kernel model ({@link ProcessEventFds}, the VFIO model's bridge): each
 * extends it and overrides only the calls it changes, so it reads as its difference from the
 * calls it wraps.
 */
import { ENOSYS } from '../errno';
import type { DescriptorBudget } from '../fd-budget';
import type { IoctlDef } from '../ioctl';
import type { Syscalls } from '../syscalls';

/**
 * Every call of `inner`, unchanged: its result or `-errno`. The optional calls are answered as
 * `inner` has them: `dup` and `sameFile` are -ENOSYS where it has none, `descriptorBudget`
 * undefined (nothing known).
 */
export class ForwardingSyscalls<S extends Syscalls = Syscalls> implements Syscalls {
  /** @param inner - The calls every method hands to (a kernel model, or the process's own). */
  constructor(protected readonly inner: S) {}

  /** `inner.open`. */
  open(path: string, flags: number): number {
    return this.inner.open(path, flags);
  }
  /** `inner.close`. */
  close(fd: number): number {
    return this.inner.close(fd);
  }
  /** `inner.ioctl`. */
  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    return this.inner.ioctl(fd, request, arg);
  }
  /** `inner.read`. */
  read(fd: number, buf: Uint8Array, length: number): number {
    return this.inner.read(fd, buf, length);
  }
  /** `inner.write`. */
  write(fd: number, buf: Uint8Array, length: number): number {
    return this.inner.write(fd, buf, length);
  }
  /** `inner.eventfd`. */
  eventfd(initval: number, flags: number): number {
    return this.inner.eventfd(initval, flags);
  }
  /** `inner.poll`. */
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
    return this.inner.poll(fds, nfds, timeoutMs);
  }
  /** `inner.epollCreate`. */
  epollCreate(): number {
    return this.inner.epollCreate();
  }
  /** `inner.epollCtl`. */
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array | null): number {
    return this.inner.epollCtl(epfd, op, fd, event);
  }
  /** `inner.epollWait`. */
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
    return this.inner.epollWait(epfd, events, maxEvents, timeoutMs);
  }
  /** `inner.dup`, or -ENOSYS where `inner` cannot duplicate. */
  dup(fd: number): number {
    return typeof this.inner.dup === 'function' ? this.inner.dup(fd) : -ENOSYS;
  }
  /** `inner.sameFile`, or -ENOSYS where `inner` cannot compare files. */
  sameFile(a: number, b: number): number {
    return typeof this.inner.sameFile === 'function' ? this.inner.sameFile(a, b) : -ENOSYS;
  }
  /** `inner.descriptorBudget`, or undefined where `inner` has none. */
  descriptorBudget(): DescriptorBudget | undefined {
    return this.inner.descriptorBudget?.();
  }
}
