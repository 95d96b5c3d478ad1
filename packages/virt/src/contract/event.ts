import { invalidArgument } from '../errors';
import { describeValue } from '../validate';
import type { Disposable } from '../disposable';

/**
 * A platform-neutral signalable object: what a device signals to raise an interrupt.
 *
 * On Linux it is an eventfd (hand {@link EventFdEvent.fd} to VFIO or vhost and the device signals
 * it from the kernel); on Windows a Win32 event ({@link Win32Event.handle}); in the software
 * backend an in-process counter. Signals coalesce: `consume()` reports how many arrived since it
 * was last called, and a backend delivers at most one interrupt per readiness (edge semantics).
 *
 * Typed by kind: {@link KindedEvent} is the union discriminated by `kind` (after
 * `if (e.kind === 'eventfd')`, `e.fd` is a `number`; after `kind === 'win32-event'`, `e.handle` is a
 * `bigint`); {@link kindedEvent}, {@link isEventFd} and {@link isWin32Event} get there from any
 * {@link Event}. `Event` itself stays an interface, so existing classes that implement it compile.
 */
export type EventKind = 'eventfd' | 'win32-event' | 'in-process';

/** What every event offers, whatever its kind. */
export interface EventBase extends Disposable {
  /** Which kind of event this is, and so whether `fd` or `handle` is set. */
  readonly kind: EventKind;
  /** The eventfd, when `kind` is `eventfd`; otherwise undefined. */
  readonly fd: number | undefined;
  /** The Win32 HANDLE, when `kind` is `win32-event`; otherwise undefined. */
  readonly handle: bigint | undefined;
  /** True once `dispose()` has run. */
  readonly disposed: boolean;
  /** Signals the event once (adds 1 to an eventfd counter). Throws DISPOSED after dispose. */
  signal(): void;
  /**
   * Non-blocking: returns the number of signals since the last consume (0 if none) and resets
   * the count. A Win32 event cannot count and returns 1 for "signalled".
   * While a kernel irqfd owns the event, the kernel consumes the signals and this returns 0.
   */
  consume(): number;
  /** Closes the fd or handle. Idempotent. */
  dispose(): void;
}

/** A Linux eventfd: always has `fd` (close-on-exec, non-blocking), never a handle. */
export interface EventFdEvent extends EventBase {
  /** Always `eventfd`. */
  readonly kind: 'eventfd';
  /**
   * The eventfd: a non-negative descriptor number. On a route's event (Linux backends) it is a
   * close-on-exec duplicate handed to you: closing it closes only your copy and the route keeps
   * working (see {@link IrqFdRoute.event}).
   */
  readonly fd: number;
  /** Always undefined. */
  readonly handle: undefined;
}

/** A Win32 event object: always has `handle`, never an fd. */
export interface Win32Event extends EventBase {
  /** Always `win32-event`. */
  readonly kind: 'win32-event';
  /** Always undefined. */
  readonly fd: undefined;
  /** The Win32 event HANDLE, as a pointer-sized unsigned bigint. */
  readonly handle: bigint;
}

/** A counter in this process (the software backend and tests): neither fd nor handle. */
export interface InProcessEventShape extends EventBase {
  /** Always `in-process`. */
  readonly kind: 'in-process';
  /** Always undefined. */
  readonly fd: undefined;
  /** Always undefined. */
  readonly handle: undefined;
}

/** An event of any kind (what routes hand out). Implement the member for your kind where you can (`implements EventFdEvent`). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Event extends EventBase {}

/** An event of any kind, as a union discriminated by `kind`. */
export type KindedEvent = EventFdEvent | Win32Event | InProcessEventShape;

/** True when `e` is an eventfd event with its fd (a non-negative integer). Never throws. */
export function isEventFd(e: unknown): e is EventFdEvent {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Partial<EventBase>;
  return x.kind === 'eventfd' && typeof x.fd === 'number' && Number.isInteger(x.fd) && x.fd >= 0;
}

/** True when `e` is a Win32 event with its handle. Never throws. */
export function isWin32Event(e: unknown): e is Win32Event {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Partial<EventBase>;
  return x.kind === 'win32-event' && typeof x.handle === 'bigint';
}

/**
 * `event` typed by its kind. INVALID_ARGUMENT when it is not an event, or when its kind and its
 * fd/handle disagree (an eventfd without an fd, a Win32 event without a handle).
 */
export function kindedEvent(event: Event): KindedEvent {
  if (isEventFd(event) || isWin32Event(event)) return event;
  const x = (typeof event === 'object' && event !== null ? event : {}) as Partial<EventBase>;
  if (x.kind === 'in-process' && x.fd === undefined && x.handle === undefined) return event as InProcessEventShape;
  throw invalidArgument('kindedEvent', `not an event whose fd/handle match its kind: ${describeValue(event)} (kind ${describeValue(x.kind)})`);
}
