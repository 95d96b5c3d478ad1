/**
 * A {@link Syscalls} wrapper for tests: records every call and fails chosen ones with a chosen
 * errno, so a test can break each step of an operation in turn and check the state afterwards.
 */
import { libcSyscalls } from '../libc';
import type { IoctlDef } from '../ioctl';
import type { DescriptorBudget } from '../fd-budget';
import type { Syscalls } from '../syscalls';

/** The system calls a {@link FaultInjector} logs, by their C names (`dup` is fcntl F_DUPFD_CLOEXEC, `kcmp` is {@link Syscalls.sameFile}). */
export type SyscallName = 'open' | 'close' | 'ioctl' | 'read' | 'write' | 'eventfd' | 'poll' | 'epoll_create1' | 'epoll_ctl' | 'epoll_wait' | 'dup' | 'kcmp';

/** One call seen by a {@link FaultInjector}. */
export interface SyscallRecord {
  /** Which system call. */
  readonly call: SyscallName;
  /** For ioctls: the request's name (`KVM_IRQFD`); otherwise the call name. */
  readonly label: string;
  /** The fd the call was made on (for epoll_ctl/epoll_wait the epoll fd, for kcmp the first fd); undefined for open, eventfd, poll, epoll_create1. */
  readonly fd: number | undefined;
  /** For ioctls: the request number; otherwise undefined. */
  readonly request: number | undefined;
  /** What the caller got (negative: -errno, injected or real). */
  readonly result: number;
  /** True when the result is a failure injected here rather than the inner call's. */
  readonly injected: boolean;
}

/** Which calls a fault applies to: a label (`KVM_IRQFD`, `eventfd`, `close`), an ioctl, or a predicate. */
export type SyscallMatcher = string | IoctlDef | ((call: SyscallName, label: string, request: number | undefined) => boolean);

interface Fault {
  readonly match: (call: SyscallName, label: string, request: number | undefined) => boolean;
  /** Matching calls still to let through before failing. */
  skip: number;
  /** Failures still to inject. */
  times: number;
  readonly errno: number;
}

/**
 * {@link Syscalls} that forwards to `inner`, logs every call in {@link log} and fails chosen calls
 * with a chosen errno instead of making them (except close, which is always made: close(2)
 * releases the fd even when it fails). Faults from {@link fail} and {@link failStep} are returned
 * as `-errno`, like the real calls.
 *
 * Members of `inner` that are not system calls (a kernel model's entry points such as
 * `KvmKernelModel.modelGuestEoi`, `flushWork`, `hazards`) are read through the injector from
 * `inner`, methods bound to it, so a backend that looks for them on its `sys` finds them as it
 * would on the model itself (`KvmPartition.guestEoi()` works over a FaultInjector of the KVM model).
 * They are neither logged nor failed: they stand for what a guest or a device does, not for a
 * call the VMM makes. TypeScript does not see them on the injector's type; reach them on the
 * model, or through the backend that finds them.
 */
export class FaultInjector implements Syscalls {
  /** The system calls that really run (default: libc). */
  readonly inner: Syscalls;
  /** Every call since construction or {@link reset}. */
  readonly log: SyscallRecord[] = [];
  private faults: Fault[] = [];
  private stepFault: { at: number; errno: number } | undefined;
  private steps = 0;

  constructor(inner: Syscalls = libcSyscalls()) {
    this.inner = inner;
    // A Proxy of this very object, so that the injector's own members (its calls, log, faults)
    // are untouched and only names it lacks fall through to `inner`.
    return new Proxy(this, {
      get(target, key, receiver) {
        if (key in target) return Reflect.get(target, key, receiver);
        const value: unknown = Reflect.get(inner, key);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(inner) : value;
      },
      has(target, key) {
        return key in target || key in inner;
      },
    });
  }

  /** Fails the `nth` (1-based, default 1) next call that matches with `errno`, `times` times (default 1). */
  fail(match: SyscallMatcher, errno: number, options: { nth?: number; times?: number } = {}): this {
    this.faults.push({ match: toPredicate(match), skip: (options.nth ?? 1) - 1, times: options.times ?? 1, errno });
    return this;
  }

  /** Fails the call at index `step` (0-based) counted from now, whatever it is. */
  failStep(step: number, errno: number): this {
    this.steps = 0;
    this.stepFault = { at: step, errno };
    return this;
  }

  /** Starts counting calls from now (see {@link callsSince}). */
  mark(): number {
    return this.log.length;
  }

  /** The calls logged since `mark` (a value from {@link FaultInjector.mark}), oldest first. */
  callsSince(mark: number): SyscallRecord[] {
    return this.log.slice(mark);
  }

  /** Calls that matched so far. */
  count(match: SyscallMatcher): number {
    const p = toPredicate(match);
    return this.log.filter((r) => p(r.call, r.label, r.request)).length;
  }

  /** Drops pending faults (the log stays). */
  clearFaults(): void {
    this.faults = [];
    this.stepFault = undefined;
  }

  /** Drops faults and the log. */
  reset(): void {
    this.clearFaults();
    this.log.length = 0;
  }

  open(path: string, flags: number): number {
    return this.run('open', 'open', undefined, undefined, () => this.inner.open(path, flags));
  }
  /** Closes `fd` through `inner` even when a failure is injected (then the caller sees -errno). */
  close(fd: number): number {
    // close() releases the fd even when it reports an error: an injected failure closes it too.
    return this.run('close', 'close', fd, undefined, () => this.inner.close(fd), true);
  }
  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    return this.run('ioctl', request.name, fd, request.request, () => this.inner.ioctl(fd, request, arg));
  }
  read(fd: number, buf: Uint8Array, length: number): number {
    return this.run('read', 'read', fd, undefined, () => this.inner.read(fd, buf, length));
  }
  /** Forwards write(2), logged as `write`, unless a fault matches. */
  write(fd: number, buf: Uint8Array, length: number): number {
    return this.run('write', 'write', fd, undefined, () => this.inner.write(fd, buf, length));
  }
  eventfd(initval: number, flags: number): number {
    return this.run('eventfd', 'eventfd', undefined, undefined, () => this.inner.eventfd(initval, flags));
  }
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
    return this.run('poll', 'poll', undefined, undefined, () => this.inner.poll(fds, nfds, timeoutMs));
  }
  epollCreate(): number {
    return this.run('epoll_create1', 'epoll_create1', undefined, undefined, () => this.inner.epollCreate());
  }
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array | null): number {
    return this.run('epoll_ctl', 'epoll_ctl', epfd, undefined, () => this.inner.epollCtl(epfd, op, fd, event));
  }
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
    return this.run('epoll_wait', 'epoll_wait', epfd, undefined, () => this.inner.epollWait(epfd, events, maxEvents, timeoutMs));
  }
  dup(fd: number): number {
    return this.run('dup', 'dup', fd, undefined, () => this.inner.dup?.(fd) ?? -38 /* ENOSYS */);
  }
  sameFile(a: number, b: number): number {
    return this.run('kcmp', 'kcmp', a, undefined, () => this.inner.sameFile?.(a, b) ?? -38 /* ENOSYS */);
  }
  /** The wrapped calls' budget (a procfs read, not a system call: never logged or failed). */
  descriptorBudget(): DescriptorBudget | undefined {
    return this.inner.descriptorBudget?.();
  }

  private run(call: SyscallName, label: string, fd: number | undefined, request: number | undefined, real: () => number, alwaysRun = false): number {
    let errno: number | undefined;
    if (this.stepFault && this.steps++ === this.stepFault.at) {
      errno = this.stepFault.errno;
      this.stepFault = undefined;
    }
    if (errno === undefined) {
      for (const f of this.faults) {
        if (f.times <= 0 || !f.match(call, label, request)) continue;
        if (f.skip > 0) {
          f.skip--;
          continue;
        }
        f.times--;
        errno = f.errno;
        break;
      }
    }
    let result: number;
    if (errno === undefined) result = real();
    else {
      if (alwaysRun) real();
      result = -errno;
    }
    this.log.push({ call, label, fd, request, result, injected: errno !== undefined });
    return result;
  }
}

function toPredicate(m: SyscallMatcher): Fault['match'] {
  if (typeof m === 'function') return m;
  if (typeof m === 'string') return (_c, label) => label === m;
  return (call, _l, request) => call === 'ioctl' && request === m.request;
}
