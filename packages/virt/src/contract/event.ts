/**
 * A platform-neutral signalable object: what a device signals to raise an interrupt.
 *
 * On Linux it is an eventfd (hand {@link Event.fd} to VFIO or vhost and the device signals it from
 * the kernel); on Windows a Win32 event ({@link Event.handle}); in the software backend an
 * in-process counter. Signals coalesce: `consume()` reports how many arrived since it was last
 * called, and a backend delivers at most one interrupt per readiness (edge semantics).
 */
export type EventKind = 'eventfd' | 'win32-event' | 'in-process';

export interface Event extends Disposable {
  readonly kind: EventKind;
  /** The eventfd (close-on-exec, non-blocking), when `kind` is `eventfd`; otherwise undefined. */
  readonly fd: number | undefined;
  /** The Win32 HANDLE, when `kind` is `win32-event`; otherwise undefined. */
  readonly handle: bigint | undefined;
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
