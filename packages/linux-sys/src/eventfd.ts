/**
 * An eventfd as a platform-neutral {@link Event}: close-on-exec, non-blocking, a 64-bit counter.
 *
 * Ownership model: the object works on a private descriptor ({@link EventFd.ownFd}) that only it
 * ever closes; `fd`, the number handed to users (for VFIO, vhost, a device thread), is a duplicate
 * of it (`fcntl(F_DUPFD_CLOEXEC)`), both close-on-exec. Signalling, consuming, epoll and kernel
 * irqfds all use the private descriptor, so a user who closes `fd` closes only their copy: the
 * event keeps working, and when that number is reused by another file, nothing here reads, writes,
 * polls or closes it. `dispose()` closes the private descriptor always, and `fd` only while it still
 * names the same open file (proven with `kcmp(2)` KCMP_FILE); when that cannot be proven (no kcmp,
 * or a {@link Syscalls} without `sameFile`), the number is left open rather than risk closing
 * someone else's file.
 */
import { type EventFdEvent } from '@tsvmm/virt';
import { disposedError } from '@tsvmm/virt/implement';
import { EAGAIN, ENOSYS } from './errno';
import { EFD_NONBLOCK } from './constants';
import { check, failure } from './check';
import { libcSyscalls } from './libc';
import { type Syscalls, checkSyscalls } from './syscalls';

/** The 64-bit little-endian 1 that every signal writes; the kernel only reads it. */
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
/**
 * Where every consume reads the counter: one per thread (each worker loads its own copy of this
 * module), and a read is over before the next can start, so events need no buffer of their own.
 */
const COUNTER = new Uint8Array(8);
const COUNTER_VIEW = new DataView(COUNTER.buffer);
/** The `sys` objects {@link EventFd} has checked already: each is checked on its first use, then trusted. */
const CHECKED_SYSCALLS = new WeakSet<Syscalls>();

/**
 * A Linux eventfd (eventfd(2)), close-on-exec and non-blocking, created with a counter of 0; every
 * {@link signal} adds 1.
 *
 * It works on a private descriptor ({@link ownFd}) that only it closes, and hands users {@link fd},
 * a close-on-exec duplicate (`fcntl(F_DUPFD_CLOEXEC)`): a user who closes `fd` closes only their
 * copy, and a reused number is never touched. {@link dispose} closes `fd` too only while kcmp(2)
 * proves it still names the same open file.
 */
export class EventFd implements EventFdEvent {
  /** Always `'eventfd'`: {@link fd} is set and {@link handle} is not. */
  readonly kind = 'eventfd' as const;
  /** Always undefined: an eventfd has no Win32 handle. */
  readonly handle = undefined;
  /**
   * The number handed to users: a close-on-exec duplicate of {@link ownFd} (or the same number
   * where the {@link Syscalls} given cannot duplicate). Closing it yourself does not stop the event.
   */
  readonly fd: number;
  private readonly own: number;
  private readonly sys: Syscalls;
  private isDisposed = false;
  private disposeHook: (() => boolean) | undefined;

  /**
   * Creates a new eventfd (EFD_CLOEXEC | EFD_NONBLOCK) and its handed-out duplicate. EMFILE and
   * other failures of either step become typed errors, with nothing left open. INVALID_ARGUMENT,
   * before any call, for a `sys` that is not a whole {@link Syscalls}; each `sys` object is checked
   * the first time it is given and trusted after (routes make thousands of events through one), so
   * its methods must not change once it is in use.
   */
  constructor(sys: Syscalls = libcSyscalls(), operation = 'EventFd.create') {
    // Checked before any call (a wrong `sys` is the caller's argument, not a failed system call),
    // once per object: routes create their events through one `sys`, thousands at a time.
    if (!CHECKED_SYSCALLS.has(sys)) CHECKED_SYSCALLS.add(checkSyscalls(typeof operation === 'string' ? operation : 'EventFd.create', 'sys', sys));
    this.sys = sys;
    this.own = check(sys.eventfd(0, EFD_NONBLOCK), operation, 'eventfd()');
    let fd = this.own;
    if (typeof sys.dup === 'function') {
      const r = sys.dup(this.own);
      if (r >= 0) fd = r;
      else if (r !== -ENOSYS) {
        sys.close(this.own);
        throw failure(r, operation, `fcntl(eventfd ${this.own}, F_DUPFD_CLOEXEC)`);
      }
    }
    this.fd = fd;
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * The private descriptor the owner itself works on (KVM_IRQFD, MSHV_IRQFD, epoll): backends pass
   * this, never `fd`, to the kernel. It stays open until {@link dispose}, whatever users do with `fd`.
   */
  ownFd(): number {
    return this.own;
  }

  /** True when `fd` is a separate number from {@link ownFd} (closing it cannot hurt the event). */
  get duplicated(): boolean {
    return this.fd !== this.own;
  }

  /**
   * Adds 1 to the counter (an 8-byte write(2) on {@link ownFd}); with a kernel irqfd assigned, the
   * kernel injects the interrupt inside this call. Throws DISPOSED after dispose, and the
   * {@link @tsvmm/virt!index.VirtError} for the errno when the write fails (EAGAIN once the
   * counter reaches its maximum, 0xfffffffffffffffe, eventfd(2)).
   */
  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the eventfd');
    // The hot path of every emulated-device interrupt: one write(2), nothing built unless it fails.
    const r = this.sys.write(this.own, ONE, 8);
    if (r < 0) throw failure(r, 'Event.signal', `write(eventfd ${this.own})`);
  }

  /**
   * Reads and resets the counter (an 8-byte read(2) on {@link ownFd}): the signals since the last
   * consume, 0 when none, when a kernel irqfd drained them, or after dispose. A count above 2^53
   * loses precision. Throws the {@link @tsvmm/virt!index.VirtError} for any errno other than EAGAIN.
   */
  consume(): number {
    if (this.isDisposed) return 0;
    const r = this.sys.read(this.own, COUNTER, 8);
    if (r === -EAGAIN) return 0;
    if (r < 0) throw failure(r, 'Event.consume', `read(eventfd ${this.own})`);
    return COUNTER_VIEW.getUint32(0, true) + COUNTER_VIEW.getUint32(4, true) * 0x1_0000_0000;
  }

  /**
   * Closes {@link ownFd}, and {@link fd} when it still provably names the same open file (kcmp(2));
   * otherwise leaves that number alone. Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    // The owner (an irqfd route) undoes its kernel bindings first, while the private number is
    // still this file's; it may take that number over when the kernel refused to let go.
    let kept = false;
    try {
      kept = this.disposeHook?.() === true;
    } catch {
      // the owner's undo is best effort; the descriptors go below either way
    }
    this.disposeHook = undefined;
    this.isDisposed = true;
    // The handed-out number is closed only while it provably still names our file: its user may
    // have closed it, and the number may now belong to someone else.
    if (this.fd !== this.own && this.sys.sameFile?.(this.own, this.fd) === 1) this.sys.close(this.fd);
    // close() releases the fd even when it reports an error, so there is nothing to retry.
    if (!kept) this.sys.close(this.own);
  }

  /**
   * @internal Called by {@link dispose} before anything is closed, once: the owner of a kernel
   * binding on this eventfd (an irqfd route) undoes it there. Returning true keeps the private
   * descriptor open: the hook's owner has taken it over (and closes it). Not called by
   * {@link disposeKeepingOwnFd}, which the owner itself calls.
   */
  setDisposeHook(hook: (() => boolean) | undefined): void {
    this.disposeHook = hook;
  }

  /**
   * Disposes the object but keeps its private descriptor open and hands it to the caller, who
   * owns it from now on (and must close it). The handed-out `fd` is closed as by {@link dispose}.
   * For a kernel binding (an irqfd) the kernel refused to undo: the open file must outlive the
   * object until the binding is gone, and only the private descriptor is sure to keep it open.
   * Returns the private descriptor's number.
   * @throws VirtError DISPOSED when the object is already disposed.
   */
  disposeKeepingOwnFd(): number {
    if (this.isDisposed) throw disposedError('EventFd.disposeKeepingOwnFd', 'the eventfd');
    this.isDisposed = true;
    this.disposeHook = undefined;
    if (this.fd !== this.own && this.sys.sameFile?.(this.own, this.fd) === 1) this.sys.close(this.fd);
    return this.own;
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
