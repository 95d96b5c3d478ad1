/**
 * The bookkeeping every backend's level routes share: the GSI check, one route per GSI, disposal
 * with the partition. The backend supplies how a route is made (KVM: KVM_IRQFD with
 * KVM_IRQFD_FLAG_RESAMPLE; the software backend: its IOAPIC model).
 */
import type { Disposable } from '../disposable';
import { type LevelIrqFdRoute, checkLevelGsi, levelGsiBusy, levelRoutesUnsupported } from '../contract/level';
import { VirtError, disposedError } from '../errors';
import { checkFunction, checkString } from '../validate';
import { disposeQuietly } from './checked-members';

/** What an irqfd delegates `newLevelRoute` to (an option of `RelayIrqFd` and of the Linux irqfd engine). */
export interface LevelRouteProvider extends Disposable {
  /** As `IrqFd.newLevelRoute`: every check and error of the contract. */
  newLevelRoute(gsi: number): LevelIrqFdRoute;
  /** Disposes every level route still alive (the partition is going away). Idempotent; never throws. */
  dispose(): void;
}

/**
 * Makes one level route on `gsi` (already checked: 0-23, free, the table alive). `release` must be
 * called once when the route is disposed, so the GSI is free again. Throws a typed error, with
 * nothing left open, when the hypervisor refuses.
 */
export type LevelRouteMaker = (gsi: number, release: () => void) => LevelIrqFdRoute;

/**
 * A {@link LevelRouteProvider} over a backend's {@link LevelRouteMaker}: INVALID_ARGUMENT for a bad
 * GSI first, then UNSUPPORTED (with `unsupported`, when given: the backend cannot make level routes
 * here), DISPOSED after {@link dispose}, BUSY for a GSI that has a route already.
 */
export class LevelRouteTable implements LevelRouteProvider {
  private readonly routes = new Map<number, LevelIrqFdRoute>();
  private isDisposed = false;

  /**
   * `owner` names the partition in DISPOSED errors; `make` builds a route; `unsupported`, when a
   * non-empty string, is why this partition has no level routes (every call is then UNSUPPORTED).
   * INVALID_ARGUMENT for a malformed argument.
   */
  constructor(
    private readonly owner: string,
    private readonly make: LevelRouteMaker,
    private readonly unsupported?: string,
  ) {
    checkString('LevelRouteTable', 'owner', owner);
    checkFunction('LevelRouteTable', 'make', make);
    if (unsupported !== undefined) checkString('LevelRouteTable', 'unsupported', unsupported, true);
  }

  /** Level routes alive now. */
  get size(): number {
    return this.routes.size;
  }

  /** The live route on `gsi`, or undefined. */
  routeOn(gsi: number): LevelIrqFdRoute | undefined {
    return this.routes.get(gsi);
  }

  newLevelRoute(gsi: number): LevelIrqFdRoute {
    const op = 'IrqFd.newLevelRoute';
    const pin = checkLevelGsi(op, gsi);
    if (this.unsupported) throw levelRoutesUnsupported(op, this.unsupported);
    if (this.isDisposed) throw disposedError(op, this.owner);
    if (this.routes.has(pin)) throw levelGsiBusy(op, pin);
    let released = false;
    // The maker may release before it returns (a route disposed at once): the route is known only afterwards.
    const made: { route?: LevelIrqFdRoute } = {};
    const route = this.make(pin, () => {
      if (released) return;
      released = true;
      if (made.route === undefined || this.routes.get(pin) === made.route) this.routes.delete(pin);
    });
    made.route = route;
    if (typeof route !== 'object' || route === null) {
      throw new VirtError('INTERNAL', { operation: op, detail: 'the backend made no level route' });
    }
    if (!released) this.routes.set(pin, route);
    return route;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    // Disposal never throws; each route is released whatever the one before it did.
    for (const r of [...this.routes.values()]) disposeQuietly(r);
    this.routes.clear();
  }

  /** Same as {@link dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
