/**
 * A route's Win32 event: the HANDLE a device signals. The route owns the handle and alone closes
 * it, exactly once, in the order WHP needs (the trigger deleted first). `dispose()` by a holder
 * only retires this object (every later `signal` throws DISPOSED and the route refuses further
 * calls), so a careless holder can never close a handle the hypervisor still watches.
 */
import { type Event } from '@tsvmm/virt';
import { disposedError } from '@tsvmm/virt/implement';
import type { WhpCalls } from './calls';

/**
 * A route's Win32 event HANDLE as an `Event`: `signal()` is SetEvent and `fd` is undefined. The
 * route owns the handle and alone closes it, once, after deleting its trigger; a holder's
 * `dispose()` only retires this object, so it can never close a handle the hypervisor still watches.
 */
export class Win32Event implements Event {
  /** Always `win32-event`: a HANDLE, not an fd. */
  readonly kind = 'win32-event' as const;
  readonly fd = undefined;
  /** True while a live trigger owns the event: the hypervisor consumes its signals. */
  ownedByTrigger: boolean;
  private userDisposed = false;
  private closed = false;

  constructor(
    private readonly calls: WhpCalls,
    /** The HANDLE, pointer-sized. */
    readonly handle: bigint,
    ownedByTrigger: boolean,
  ) {
    this.ownedByTrigger = ownedByTrigger;
  }

  /** True once a holder disposed it or the route closed its handle: `signal` then throws DISPOSED. */
  get disposed(): boolean {
    return this.userDisposed || this.closed;
  }

  /** SetEvent. Throws DISPOSED after dispose, or once the route replaced and closed this event. */
  signal(): void {
    if (this.disposed) throw disposedError('Event.signal', 'the event');
    this.calls.setEvent(this.handle);
  }

  /**
   * 1 if the event was signalled (and resets it), else 0. Returns 0 without looking while a
   * trigger owns the event: the hypervisor consumes those signals.
   */
  consume(): number {
    if (this.disposed || this.ownedByTrigger) return 0;
    return this.take() ? 1 : 0;
  }

  /** @internal WaitForSingleObject(h, 0): true when signalled (an auto-reset event is reset by it). */
  take(): boolean {
    return this.calls.waitOne(this.handle, 0);
  }

  /** Retires this object for its holder; the route closes the handle. Idempotent. */
  dispose(): void {
    this.userDisposed = true;
  }

  /** @internal CloseHandle, once. Never throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ownedByTrigger = false;
    try {
      this.calls.closeHandle(this.handle);
    } catch {
      // The handle is ours alone and closed once; a failure here cannot be acted on.
    }
  }

  /** {@link Win32Event.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
