/**
 * What the MSI-X emulator drives: one {@link MsixRoute} per vector, plus an optional batch hook so
 * that a bulk transition (Enable on, Function Mask off, restore) costs one routing-table commit.
 */

/**
 * The per-vector interface the emulator drives. It is the MSI-X-shaped subset of an irqfd route
 * ({@link IrqFdMsixRoute} adapts `IrqFdRoute` from `@tsvmm/virt`), small enough that a VMM can
 * implement it over anything that can deliver an MSI.
 *
 * The emulator relies on the `IrqFdRoute` delivery contract: a signal on a route that is masked or
 * has no MSI latches; arming delivers a latched signal exactly once; `consumePending` reports a
 * latched signal once instead (and is false on an armed route); a failed call throws and leaves
 * the route as it was.
 */
export interface MsixRoute {
  /** Programs the message. The address is split into 32-bit halves so the emulator never builds a bigint. */
  setMsi(addressLo: number, addressHi: number, data: number): void;
  /** Removes the message: the route stops delivering, signals latch. */
  clearMsi(): void;
  /** Stops delivery: signals latch until unmasked. Idempotent. */
  mask(): void;
  /** A latched signal is delivered at once if the route has a message. */
  unmask(): void;
  /** True (once) if a signal latched while the route was not armed; clears it. */
  consumePending(): boolean;
  /** Raises one interrupt as the device would (signals the route's event). */
  signal(): void;
}

/**
 * Runs `fn` as one routing transaction (`IrqFd.batch`): every route change inside costs at most one
 * commit. Must return what `fn` returns; may throw after `fn` ran (a failed commit).
 */
export type MsixBatch = <T>(fn: () => T) => T;

/**
 * User-space injection of one MSI (`Partition.requestMsi`), used for vectors that have no route.
 * The address comes as 32-bit halves.
 */
export type MsiInjector = (addressLo: number, addressHi: number, data: number) => void;

/** Where a route failure is reported; the emulator itself never throws into the guest path. */
export type MsixErrorHandler = (error: Error, vector: number, operation: string) => void;
