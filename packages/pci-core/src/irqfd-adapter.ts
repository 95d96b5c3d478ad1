/**
 * Wiring the emulator to a backend: {@link IrqFdMsixRoute} adapts an `IrqFdRoute` (kernel irqfd or
 * the user-space relay) to {@link MsixRoute}; {@link createIrqFdMsixRoutes} makes one per vector in
 * one commit; {@link partitionInjector} turns `Partition.requestMsi` into the emulator's injector.
 */
import type { Disposable, IrqFd, IrqFdRoute, Partition } from '@tsvmm/virt';
import { VirtError } from '@tsvmm/virt';
import { checkInteger, describeValue, invalidArgument, type MsiHalvesRoute, checkMethods, msiHalvesOf } from '@tsvmm/virt/implement';
import type { MsiInjector, MsixBatch, MsixRoute } from './route';
import { MSI_VECTOR_COUNTS } from './msi-layout';
import { describeArgument, dwordValue } from './access-args';

const TWO_32 = 0x1_0000_0000;
/** Upper halves below this keep the 64-bit address a safe integer. */
const SAFE_HI = 0x20_0000;

/** `lo` and `hi` (each 0-0xFFFFFFFF, already checked) as one 64-bit address: a bigint only when it needs 54+ bits. */
function joinHalves(lo: number, hi: number): number | bigint {
  if (hi === 0) return lo;
  if (hi < SAFE_HI) return hi * TWO_32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** INVALID_ARGUMENT for a DWORD argument `name` of `operation` that {@link dwordValue} refused. */
function notDword(operation: string, name: string, value: unknown): VirtError {
  return invalidArgument(
    operation,
    `${name} must be a DWORD: an integer from 0 to 0xFFFFFFFF (or a negative int32, the same 32 bits), as a number or a bigint, got ${describeArgument(value)}`,
  );
}

/** INVALID_ARGUMENT for `operation`, naming the first of the message's three DWORDs that is not one ({@link dwordValue}); allocates nothing otherwise. */
function checkMessageDwords(operation: string, addressLo: unknown, addressHi: unknown, data: unknown): void {
  if (dwordValue(addressLo) < 0) throw notDword(operation, 'addressLo', addressLo);
  if (dwordValue(addressHi) < 0) throw notDword(operation, 'addressHi', addressHi);
  if (dwordValue(data) < 0) throw notDword(operation, 'data', data);
}

/**
 * The 64-bit address as `IrqFdRoute.setMsi` / `requestMsi` take it, from the two DWORDs of an MSI
 * or MSI-X table entry (Message Address, Message Upper Address): a number, or a bigint only when it
 * needs 54 bits or more. Each half is an integer 0 to 0xFFFFFFFF, or a negative int32 taken as the
 * same 32 bits in two's complement (as JavaScript's bit operators give them: `-1` is 0xFFFFFFFF),
 * as a number or a bigint (the rule of `write32` and `configWrite`).
 *
 * @throws VirtError INVALID_ARGUMENT, naming `addressLo` or `addressHi`, for anything else (a
 * string, NaN, 1.5, 2^32, a bigint out of range, a symbol...): nothing is coerced.
 */
export function joinAddress(addressLo: number, addressHi: number): number | bigint {
  const lo = dwordValue(addressLo);
  if (lo < 0) throw notDword('joinAddress', 'addressLo', addressLo);
  const hi = dwordValue(addressHi);
  if (hi < 0) throw notDword('joinAddress', 'addressHi', addressHi);
  return joinHalves(lo, hi);
}

/** An `IrqFdRoute` seen as an {@link MsixRoute}. The emulator drives it; the caller keeps owning it. */
export class IrqFdMsixRoute implements MsixRoute {
  /** The adapted route; its typed errors (INVALID_MSI, DISPOSED...) pass through every method. */
  readonly route: IrqFdRoute;
  /** The route's `setMsiHalves` when it has one (looked up once): the halves then go through as they are. */
  private readonly halves: MsiHalvesRoute | undefined;

  /**
   * Wraps `route`; nothing is called on it until the emulator drives it. INVALID_ARGUMENT unless
   * `route` is an object with the `IrqFdRoute` methods the adapter calls (`setMsi`, `clearMsi`,
   * `mask`, `unmask`, `consumePending`) and an `event` (only its methods are looked up here).
   */
  constructor(route: IrqFdRoute) {
    const op = 'new IrqFdMsixRoute';
    const wrong = (detail: string, cause?: unknown): VirtError =>
      new VirtError('INVALID_ARGUMENT', { operation: op, detail, hint: 'Pass an IrqFdRoute (irqfd.newIrqFdRoute()); nothing was changed.', cause });
    if (typeof route !== 'object' || route === null) throw wrong(`route must be an IrqFdRoute, got ${describeValue(route)}`);
    let missing: string | undefined;
    let halves: MsiHalvesRoute | undefined;
    try {
      const r = route as unknown as Record<string, unknown>;
      missing = ['setMsi', 'clearMsi', 'mask', 'unmask', 'consumePending'].find((m) => typeof r[m] !== 'function');
      if (missing === undefined && !('event' in route)) missing = 'event';
      halves = msiHalvesOf(route);
    } catch (e) {
      throw wrong('route could not be inspected (a property lookup threw)', e);
    }
    if (missing !== undefined) throw wrong(`route must be an IrqFdRoute; it has no ${missing}${missing === 'event' ? '' : '()'}`);
    this.route = route;
    this.halves = halves;
  }

  /**
   * The route's `setMsiHalves` (`MsiHalvesRoute` of `@tsvmm/virt/implement`: the engine routes of
   * the Linux backends) with the halves as they are; otherwise `route.setMsi` with them joined into
   * one 64-bit address ({@link joinAddress}). Each argument is a DWORD as {@link joinAddress} takes it.
   *
   * @throws VirtError INVALID_ARGUMENT, naming the argument, before the route is called, for an
   * argument that is not a DWORD; the route's own errors (INVALID_MSI, DISPOSED...) pass through.
   */
  setMsi(addressLo: number, addressHi: number, data: number): void {
    checkMessageDwords('IrqFdMsixRoute.setMsi', addressLo, addressHi, data);
    const lo = dwordValue(addressLo);
    const hi = dwordValue(addressHi);
    const d = dwordValue(data);
    const h = this.halves;
    if (h !== undefined) h.setMsiHalves(lo, hi, d);
    else this.route.setMsi(joinHalves(lo, hi), d);
  }

  /** `route.clearMsi()`. */
  clearMsi(): void {
    this.route.clearMsi();
  }

  /** `route.mask()`. */
  mask(): void {
    this.route.mask();
  }

  /** `route.unmask()`. */
  unmask(): void {
    this.route.unmask();
  }

  /** `route.consumePending()`. */
  consumePending(): boolean {
    return this.route.consumePending();
  }

  /** Signals the route's current event (read each time: some backends replace it). */
  signal(): void {
    this.route.event.signal();
  }
}

/** One irqfd route per vector, ready for {@link MsixEmulator.setRoutes}. */
export interface IrqFdMsixRoutes extends Disposable {
  /** Pass to `setRoutes(routes, { batch })`. */
  readonly routes: readonly IrqFdMsixRoute[];
  /** The irqfd's batch. */
  readonly batch: MsixBatch;
  /** The underlying routes: `irqfdRoutes[v].event.fd` is what VFIO or vhost signals for vector v. */
  readonly irqfdRoutes: readonly IrqFdRoute[];
  /** Disposes every route. Idempotent; never throws. Detach them from the emulator first (`clearRoutes`). */
  dispose(): void;
}

/**
 * Creates `vectors` routes on `irqfd` in one batch (one commit where the backend has a routing
 * table). If any creation fails, the routes made so far are disposed and the typed error (e.g.
 * EXHAUSTED) propagates.
 *
 * @throws VirtError INVALID_ARGUMENT for `vectors` outside 1-2048 or an `irqfd` without `newIrqFdRoute`.
 */
export function createIrqFdMsixRoutes(irqfd: IrqFd, vectors: number): IrqFdMsixRoutes {
  const op = 'createIrqFdMsixRoutes';
  checkInteger(op, 'vectors', vectors, 1, 2048);
  return createRoutes(op, irqfd, vectors);
}

/**
 * One irqfd route per vector of a plain MSI capability, for {@link MsiEmulator.setRoutes}: what
 * {@link createIrqFdMsixRoutes} makes, for `vectors` = 2^(Multiple Message Capable), i.e. 1, 2,
 * 4, 8, 16 or 32 (PCI Local Bus 3.0, section 6.8.1). `irqfdRoutes[v].event.fd` is what VFIO
 * (`VFIO_DEVICE_SET_IRQS`, MSI index, `start` = v) signals for vector v.
 *
 * @throws VirtError INVALID_ARGUMENT for another vector count or an `irqfd` without `newIrqFdRoute`;
 *   the backend's typed error (e.g. EXHAUSTED) if a route cannot be made (those made are disposed).
 */
export function createIrqFdMsiRoutes(irqfd: IrqFd, vectors: number): IrqFdMsiRoutes {
  const op = 'createIrqFdMsiRoutes';
  if (!MSI_VECTOR_COUNTS.includes(vectors)) {
    throw invalidArgument(op, `vectors must be 1, 2, 4, 8, 16 or 32 (2^Multiple Message Capable), got ${describeValue(vectors)}`);
  }
  return createRoutes(op, irqfd, vectors);
}

/** One irqfd route per MSI vector, ready for {@link MsiEmulator.setRoutes}; the same shape as {@link IrqFdMsixRoutes}. */
export type IrqFdMsiRoutes = IrqFdMsixRoutes;

function createRoutes(op: string, irqfd: IrqFd, vectors: number): IrqFdMsixRoutes {
  if (typeof irqfd !== 'object' || irqfd === null || typeof irqfd.newIrqFdRoute !== 'function') {
    throw invalidArgument(op, 'irqfd must be the IrqFd of a partition (partition.irqfd())');
  }
  const made: IrqFdRoute[] = [];
  try {
    irqfd.batch(() => {
      for (let v = 0; v < vectors; v++) made.push(irqfd.newIrqFdRoute());
    });
  } catch (e) {
    for (const r of made) r.dispose();
    throw e;
  }
  let disposed = false;
  const batch: MsixBatch = (fn) => irqfd.batch(fn);
  return {
    routes: made.map((r) => new IrqFdMsixRoute(r)),
    batch,
    irqfdRoutes: made,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const r of made) r.dispose();
    },
    [Symbol.dispose](): void {
      this.dispose();
    },
  };
}

/**
 * `Partition.requestMsi` as the emulator's injector, for vectors without a route. The injector
 * takes three DWORDs as {@link joinAddress} does (address low, address high, data), and throws
 * INVALID_ARGUMENT, naming the argument and before `requestMsi` is called, for one that is not.
 *
 * @throws VirtError INVALID_ARGUMENT unless `partition` is an object with a `requestMsi` function.
 */
export function partitionInjector(partition: Partition): MsiInjector {
  const op = 'partitionInjector';
  checkMethods<Partition>(op, 'partition', partition, ['requestMsi']);
  return (addressLo, addressHi, data) => {
    checkMessageDwords(op, addressLo, addressHi, data);
    partition.requestMsi(joinHalves(dwordValue(addressLo), dwordValue(addressHi)), dwordValue(data));
  };
}
