/**
 * The irqfd engine shared by the Linux backends (KVM, mshv): routes, transactions and `batch`,
 * commit skipping, arming and latching, rollback, disposal, GSI allocation and the routing table,
 * once. A backend describes its kernel with an {@link IrqFdBackend}.
 *
 * A transaction runs in phases, outermost call only:
 * 1. changes that stop delivery (`mask`, `clearMsi`, `dispose`) deassign at once, inside the call;
 * 2. `prepare`: every route the transaction touched (and every route an earlier failure left
 *    apart from its request) deassigns what its request no longer wants delivered;
 * 3. `plan` + one commit of the whole table: each route publishes its entry (taking a GSI at its
 *    first MSI), and a route whose irqfd is still assigned keeps its committed entry;
 * 4. `converge`: each route assigns its irqfd if the committed table has its requested MSI, or
 *    is delivered by the overflow relay when it found no GSI.
 * If 2-4 fail, the touched routes get their requests back (routes created in the transaction are
 * disposed) and 2-4 run again best effort. Whatever the kernel refuses, the kernel's state stays
 * valid: an irqfd is assigned only on a GSI whose route the last accepted table holds, and no
 * route is removed while its irqfd is assigned. A route the kernel leaves apart from its request
 * reports what the kernel does, with `fault` set, until a later transaction succeeds.
 *
 * A disposed route whose irqfd the kernel refused to deassign (twice) lingers: its irqfd is still
 * assigned, and closing the engine's descriptor would not end it while any other number for the
 * eventfd's file is open (the copy handed out as `event.fd` may have been passed on; the kernel
 * releases an irqfd only with the file's last reference). The engine keeps that descriptor open and
 * the GSI routed as the kernel has it (never handed to another route), and retries the deassign at
 * the start of every later transaction and disposal; once it succeeds, the descriptor is closed and
 * the GSI retired like any other. Disposing the partition closes it regardless (the VM goes with it).
 */
import { type IrqFd, type IrqFdCapabilities, type LevelIrqFdRoute, VirtError } from '@tsvmm/virt';
import { type RelayPlatformFactory, SlotAllocator, disposedError, type LevelRouteProvider, checkFunction, checkInteger, checkLevelGsi, describeError, describeValue, invalidArgument, checkNotThenable, levelRoutesUnsupported } from '@tsvmm/virt/implement';
import type { EventFd } from '../eventfd';
import type { Syscalls } from '../syscalls';
import type { IrqFdBackend } from './backend';
import { OverflowRelay } from './overflow';
import { descriptorsPerRoute, routeEventFd } from './route-eventfd';

export { descriptorsPerRoute };
import { ENGINE_ROUTE_TOKEN, EngineRoute } from './route';
import { RoutingTable, fixedEntryCount } from './routing-table';
import { type TakenTransaction, Transaction } from './transaction';

/** Routes one engine allows where the process's descriptor budget cannot be read (no procfs). */
export const DEFAULT_MAX_ROUTES = 16384;

/** The most routes a derived budget promises, whatever RLIMIT_NOFILE allows: the overflow relay's slot table is sized by it. */
export const MAX_DERIVED_ROUTES = 1 << 16;

/**
 * Descriptors a derived budget leaves to the rest of the process: the overflow relay (its epoll
 * instance and wake-up eventfd), files a VMM opens after the partition, and a margin for libraries.
 */
export const DESCRIPTOR_RESERVE = 64;


/** The most routes a caller may ask one engine for (a partition's `maxRoutes`). */
const MAX_REQUESTED_ROUTES = 1 << 20;

/**
 * The route budget an engine promises: `requested` when given, otherwise what the descriptors
 * RLIMIT_NOFILE still allows (less {@link DESCRIPTOR_RESERVE}) can hold, at most
 * {@link MAX_DERIVED_ROUTES} and at least 1; {@link DEFAULT_MAX_ROUTES} where the budget is unknown.
 * INVALID_ARGUMENT for a `requested` that is not an integer from 1 to 2^20, a `sys` that is not an object,
 * or a `sys.descriptorBudget` that throws or answers something other than `{ limit, open }` or undefined.
 */
export function routeBudget(sys: Syscalls, requested: number | undefined): number {
  if (requested !== undefined) return checkInteger('routeBudget', 'requested', requested, 1, MAX_REQUESTED_ROUTES);
  if (typeof sys !== 'object' || sys === null) throw invalidArgument('routeBudget', `sys must be the Syscalls the routes' descriptors come from, got ${describeValue(sys)}`);
  const budget = readDescriptorBudget(sys);
  if (budget === undefined) return DEFAULT_MAX_ROUTES;
  if (budget.limit === Infinity) return MAX_DERIVED_ROUTES;
  const routes = Math.floor((budget.limit - budget.open - DESCRIPTOR_RESERVE) / descriptorsPerRoute(sys));
  return Math.min(MAX_DERIVED_ROUTES, Math.max(1, routes));
}

/** What to do about a `descriptorBudget` answer that is not one. */
const BUDGET_HINT = 'A Syscalls whose descriptorBudget is given answers { limit, open } or undefined; fix it or leave it out.';

/**
 * `sys.descriptorBudget()`, checked: undefined (unknown), or a `limit` (a whole number or Infinity)
 * and an `open` count (a whole number). A `sys` is often a caller's own (a model, a wrapper): what
 * it answers otherwise, or throws, is INVALID_ARGUMENT naming it, not a NaN budget.
 */
function readDescriptorBudget(sys: Syscalls): { readonly limit: number; readonly open: number } | undefined {
  let budget: unknown;
  let limit: unknown;
  let open: unknown;
  try {
    budget = typeof sys.descriptorBudget === 'function' ? sys.descriptorBudget() : undefined;
    if (budget === undefined) return undefined;
    if (typeof budget === 'object' && budget !== null) ({ limit, open } = budget as { limit?: unknown; open?: unknown });
  } catch (e) {
    throw new VirtError('INVALID_ARGUMENT', { operation: 'routeBudget', detail: `sys.descriptorBudget threw (${describeError(e)})`, hint: BUDGET_HINT, cause: e });
  }
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if ((whole(limit) || limit === Infinity) && whole(open)) return { limit, open };
  throw invalidArgument('routeBudget', `sys.descriptorBudget answered ${describeValue(budget)}, not { limit, open } (whole numbers; limit may be Infinity)`, BUDGET_HINT);
}

/** What an {@link IrqFdEngine} runs on. */
export interface IrqFdEngineOptions {
  /** The hypervisor's description: GSIs, table and irqfd layouts, ioctls, MSI policy, injectors. */
  readonly backend: IrqFdBackend;
  /** System calls for the eventfds (the backend's ioctls go through `backend.sys`). */
  readonly sys: Syscalls;
  /**
   * Most routes at once. Default: derived from the process's descriptor budget ({@link routeBudget}:
   * a route holds {@link descriptorsPerRoute} descriptors). Descriptors running out first is an
   * EXHAUSTED error as well.
   */
  readonly maxRoutes?: number;
  /**
   * The overflow path's relay platform, created at the first route that finds no free GSI (on
   * Linux: the epoll worker with `backend.workerInjector`). Omit it to make such a route fail
   * with EXHAUSTED instead.
   */
  readonly overflow?: RelayPlatformFactory;
  /** What disposing the engine's owner is called in DISPOSED errors, e.g. `the KVM partition`. */
  readonly owner?: string;
  /**
   * Where `newLevelRoute` goes (KVM: resample irqfds on the IOAPIC's GSIs); disposed with the
   * engine. Absent: `newLevelRoute` is UNSUPPORTED for this backend.
   */
  readonly levelRoutes?: LevelRouteProvider;
  /**
   * Coalesce retargets (default 0: off). When a route call (not a `batch`) would commit the table
   * only because routes that already hold a GSI now ask for other messages (a guest moving vectors
   * between vCPUs: mask, rewrite, unmask, one vector at a time), the commit waits up to this many
   * milliseconds; meanwhile each such route is delivered by the overflow relay with its new message
   * (or latches while masked), and one commit then moves them all back to their irqfds. Needs the
   * overflow path (`overflow`); ignored without it. Any other change commits at once, with them.
   */
  readonly retargetWindowMs?: number;
}

/**
 * The irqfd of a Linux partition (KVM, mshv): the `IrqFd` contract of `@tsvmm/virt` on kernel
 * irqfds and a routing table committed whole, with routes beyond the kernel's GSIs delivered by
 * the overflow relay. Made by a backend's partition.
 *
 * A transaction (one route call, or the outermost `batch`) stops delivery at once for `mask`,
 * `clearMsi` and `dispose`; at its end it deassigns what its routes no longer want delivered,
 * commits the whole table in one ioctl, then assigns each irqfd whose requested MSI the committed
 * table holds. If that fails, the routes get their requests back (routes created in it are
 * disposed), and a route the kernel leaves apart from its request reports what the kernel does,
 * with `fault` set, until a later transaction succeeds. An irqfd is only ever assigned on a GSI
 * the kernel's table routes, and no route is removed while its irqfd is assigned.
 */
export class IrqFdEngine implements IrqFd {
  /**
   * `mediation: 'kernel'`, `routingTable: true`, `stableEvent: true`; `maxRoutes` from the
   * options, `maxKernelRoutes` = the GSIs (`backend.maxTableEntries` minus its fixed entries).
   */
  readonly capabilities: IrqFdCapabilities;
  /** The routing table (diagnostics: what the kernel has, whether a commit is pending). */
  readonly table: RoutingTable;
  /** The backend this engine was created with. */
  readonly backend: IrqFdBackend;
  /** The overflow relay (diagnostics). */
  readonly overflow: OverflowRelay;
  /** @internal The GSIs routes take at their first MSI (the routes allocate and release them). */
  readonly gsis: SlotAllocator;
  /** @internal The open transaction (routes mark themselves touched in it). */
  readonly txn = new Transaction();
  private readonly sys: Syscalls;
  private readonly owner: string;
  private readonly slots: SlotAllocator;
  private readonly routes = new Set<EngineRoute>();
  /** Routes the kernel left apart from their request: every transaction retries them. */
  private readonly unsynced = new Set<EngineRoute>();
  /** Routes with an MSI and no irqfd GSI of their own (relayed, or waiting): promoted when GSIs free up. */
  private readonly waiting = new Set<EngineRoute>();
  /** GSIs of disposed routes that a table may still hold: freed once no committed table does. */
  private readonly retired = new Set<number>();
  /**
   * Disposed routes whose irqfd the kernel refused to deassign, by GSI: the engine's descriptor of
   * the eventfd (kept open, so that the number stays the file's) and the GSI, kept routed as the
   * kernel has it and never handed out, until a retried deassign succeeds.
   */
  private readonly lingering = new Map<number, number>();
  private readonly irqfdBytes: Uint8Array;
  private readonly irqfdView: DataView;
  // The irqfd argument's offsets, copied into fields for the hot path.
  private readonly irqfdFdAt: number;
  private readonly irqfdGsiAt: number;
  private readonly irqfdFlagsAt: number;
  private readonly deassignFlag: number;
  private isDisposed = false;
  private readonly levelRoutes: LevelRouteProvider | undefined;
  /** Retargets waiting for the coalesced commit (see {@link IrqFdEngineOptions.retargetWindowMs}). */
  private readonly coalescing = new Set<EngineRoute>();
  private readonly retargetWindowMs: number;
  private retargetTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while the window's own commit runs: it must not be deferred again. */
  private committingRetargets = false;

  constructor(options: IrqFdEngineOptions) {
    const b = options.backend;
    this.backend = b;
    this.sys = options.sys;
    this.owner = options.owner ?? `the ${b.name} partition`;
    const maxRoutes = routeBudget(options.sys, options.maxRoutes);
    const kernelRoutes = b.maxTableEntries - fixedEntryCount(b);
    this.gsis = new SlotAllocator(b.firstGsi, kernelRoutes);
    this.slots = new SlotAllocator(0, maxRoutes);
    this.table = new RoutingTable(b);
    this.overflow = new OverflowRelay(maxRoutes, options.overflow);
    const arg = b.irqfdArg;
    this.irqfdBytes = new Uint8Array(arg.size);
    if (arg.template !== undefined) this.irqfdBytes.set(arg.template);
    this.irqfdView = new DataView(this.irqfdBytes.buffer);
    this.irqfdFdAt = arg.fd;
    this.irqfdGsiAt = arg.gsi;
    this.irqfdFlagsAt = arg.flags;
    this.deassignFlag = arg.deassignFlag;
    this.levelRoutes = options.levelRoutes;
    this.retargetWindowMs = options.overflow === undefined ? 0 : (options.retargetWindowMs ?? 0);
    this.capabilities = Object.freeze({
      mediation: 'kernel' as const,
      maxRoutes,
      maxKernelRoutes: kernelRoutes,
      routingTable: true,
      stableEvent: true,
      mechanism:
        `${b.ioctls.irqfd.name}: the kernel injects the routed MSI on the eventfd write (inside the write for a unicast MSI its fast path takes; a broadcast or a destination the fast path declines from the irqfd's work item just after, so poll to observe it); the routing table is committed whole with ` +
        `${b.ioctls.setRouting.name} (GSIs from ${b.firstGsi}, taken at a route's first MSI, at most ${kernelRoutes} at once)` +
        (options.overflow ? '; routes beyond that are delivered from user space until a GSI frees up' : '') +
        (this.retargetWindowMs > 0 ? `; retargets are committed together, at most ${this.retargetWindowMs} ms later, and delivered from user space meanwhile` : ''),
    });
  }

  get routeCount(): number {
    return this.routes.size;
  }

  get commitCount(): number {
    return this.table.commitCount;
  }

  /** GSIs held now: by routes with an MSI, and by removals not committed yet. */
  get gsiCount(): number {
    return this.gsis.size;
  }

  /**
   * Irqfds of disposed routes that the kernel refused to deassign (twice) and still has assigned:
   * each keeps its GSI routed and its eventfd open until a later engine operation's deassign
   * succeeds (or the partition is disposed). Diagnostic; 0 unless the kernel refused.
   */
  get lingeringCount(): number {
    return this.lingering.size;
  }

  /** Routes that the overflow relay delivers or that wait for a GSI. */
  get overflowCount(): number {
    return this.waiting.size;
  }

  /** Retargeted routes waiting for the coalesced commit (0 unless retargets are coalesced). */
  get coalescingCount(): number {
    return this.coalescing.size;
  }

  /**
   * Commits the retargets waiting for their window now, and moves each back to its irqfd. Throws the
   * typed error when the kernel refuses the commit (they stay relayed, delivering, and the next
   * window tries again). Does nothing when none waits.
   */
  flushRetargets(): void {
    const op = 'IrqFd.flushRetargets';
    this.live(op);
    this.clearRetargetTimer();
    if (this.coalescing.size === 0) return;
    this.committingRetargets = true;
    try {
      this.transaction(op, () => undefined);
    } finally {
      this.committingRetargets = false;
      if (this.coalescing.size > 0) this.scheduleRetargetCommit();
    }
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  newIrqFdRoute(): EngineRoute {
    const op = 'IrqFd.newIrqFdRoute';
    this.live(op);
    const slot = this.slots.tryAllocate();
    if (slot === undefined) {
      throw new VirtError('EXHAUSTED', {
        operation: op,
        detail: `all ${this.slots.capacity} irqfd routes are in use`,
        hint:
          `Routes are bounded by their file descriptors (${descriptorsPerRoute(this.sys)} each), not by kernel routes: a route takes one of the ` +
          `${this.gsis.capacity} GSIs only while it has an MSI. Dispose routes that are no longer needed, or allow more (maxRoutes, with RLIMIT_NOFILE raised to match).`,
      });
    }
    let event: EventFd;
    try {
      // The slot just taken is this route's, not yet one in use.
      event = routeEventFd(this.sys, op, { inUse: this.slots.size - 1, capacity: this.slots.capacity });
    } catch (e) {
      this.slots.release(slot);
      throw e;
    }
    const route = new EngineRoute(ENGINE_ROUTE_TOKEN, this, slot, event);
    this.routes.add(route);
    if (this.txn.open) this.txn.created.add(route);
    return route;
  }

  batch<T>(fn: () => T): T {
    const op = 'IrqFd.batch';
    this.live(op);
    checkFunction(op, 'fn', fn);
    // What fn did before returning is committed (as when it throws); an async fn is refused after.
    const result = this.transaction(op, fn);
    checkNotThenable(op, 'fn', result);
    return result;
  }

  /** Resolves once every signal raised before the call has been delivered or latched by the overflow relay. */
  settle(): Promise<void> {
    return this.overflow.settle();
  }

  /**
   * A level-triggered route on `gsi` from the `levelRoutes` option: INVALID_ARGUMENT for a GSI
   * that is not an integer from 0 to 23 first; UNSUPPORTED without that option; then the
   * provider's checks and errors (see `IrqFd.newLevelRoute` of `@tsvmm/virt`).
   */
  newLevelRoute(gsi: number): LevelIrqFdRoute {
    const op = 'IrqFd.newLevelRoute';
    checkLevelGsi(op, gsi);
    if (this.levelRoutes === undefined) throw levelRoutesUnsupported(op, `the ${this.backend.name} irqfd has no level-triggered (resample) routes`);
    return this.levelRoutes.newLevelRoute(gsi);
  }

  /**
   * Partition teardown: disposes every level route and every route (closing its eventfd tears its
   * irqfd down) and stops the relay's waiter. Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    try {
      this.levelRoutes?.dispose();
    } catch {
      // disposal never throws; the routes below are released regardless
    }
    this.clearRetargetTimer();
    this.coalescing.clear();
    this.overflow.dispose();
    // The partition closes its VM fd next, which ends every irqfd the kernel still has.
    for (const fd of this.lingering.values()) this.sys.close(fd);
    this.lingering.clear();
    for (const r of this.routes) r.dispose();
    this.routes.clear();
    this.unsynced.clear();
    this.waiting.clear();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** After {@link dispose}: resolves once the overflow relay's waiter thread (if it was started) has exited. */
  whenClosed(): Promise<void> {
    return this.overflow.whenClosed();
  }

  private live(op: string): void {
    if (this.isDisposed) throw disposedError(op, this.owner);
  }

  /**
   * Whether this transaction's commit waits for the retarget window: retargets are coalesced, the
   * transaction is a route call (a `batch` commits once already), and every entry the table would
   * change belongs to a route that retargets (each changes exactly its own GSI's entry).
   */
  private defersCommit(op: string, dirty: readonly EngineRoute[]): boolean {
    if (this.retargetWindowMs <= 0 || this.committingRetargets || op === 'IrqFd.batch') return false;
    let retargets = 0;
    for (const r of dirty) if (r.retargeting) retargets++;
    return retargets > 0 && retargets === this.table.differingCount;
  }

  /** The window's commit, once: at most `retargetWindowMs` after the first retarget it holds. */
  private scheduleRetargetCommit(): void {
    if (this.retargetTimer !== undefined || this.isDisposed) return;
    this.retargetTimer = setTimeout(() => {
      this.retargetTimer = undefined;
      if (this.isDisposed) return;
      try {
        this.flushRetargets();
      } catch {
        // The routes stay relayed and delivering; flushRetargets scheduled the next window.
      }
    }, this.retargetWindowMs);
    // A waiting commit must not keep the process alive: the routes deliver meanwhile.
    this.retargetTimer.unref?.();
  }

  private clearRetargetTimer(): void {
    if (this.retargetTimer === undefined) return;
    clearTimeout(this.retargetTimer);
    this.retargetTimer = undefined;
  }

  /** @internal Runs `fn` in the current transaction, or in a new one that commits when `fn` returns (a route call). */
  transaction<T>(op: string, fn: () => T): T {
    this.txn.depth++;
    let result: T;
    try {
      result = fn();
    } finally {
      this.txn.depth--;
      // Runs even when fn threw: the changes it made before throwing are applied (batch contract).
      if (this.txn.depth === 0 && !this.isDisposed) this.finish(op);
    }
    return result;
  }

  private finish(op: string): void {
    this.retryLingering();
    const taken = this.txn.take();
    const dirty = taken.touched;
    // Routes an earlier failure left apart from their request, and retargets waiting for their
    // commit, unless this transaction touched them.
    for (const r of this.unsynced) if (r.txnGen !== taken.gen) dirty.push(r);
    for (const r of this.coalescing) if (!r.disposed && r.txnGen !== taken.gen && !this.unsynced.has(r)) dirty.push(r);
    if (dirty.length === 0 && !this.table.pending) return;
    let deferred = false;
    try {
      for (const r of dirty) r.prepare(op);
      for (const r of dirty) r.plan();
      deferred = this.defersCommit(op, dirty);
      if (deferred) {
        for (const r of dirty) {
          if (r.retargeting) r.deferRetarget(op);
          else r.converge(op);
        }
      } else {
        this.table.commit(op);
        for (const r of dirty) r.converge(op);
      }
    } catch (e) {
      throw this.rollback(op, taken, dirty, e);
    }
    this.record(dirty, undefined);
    if (deferred) this.scheduleRetargetCommit();
    this.promote(op);
  }

  /**
   * Puts the touched routes' requests back and converges to them as far as the kernel lets it.
   * Returns the error to throw: the original one, its hint completed with what became of the routes.
   */
  private rollback(op: string, taken: TakenTransaction, touchedAndUnsynced: EngineRoute[], error: unknown): unknown {
    const { created, gen } = taken;
    this.txn.depth++; // disposal below must not commit on its own
    try {
      for (const r of created) r.dispose();
    } finally {
      this.txn.depth--;
    }
    const dirty = touchedAndUnsynced.filter((r) => !created.has(r));
    for (const r of taken.touched) if (!r.disposed && r.txnGen === gen) r.revert(r.txnBefore);
    for (const r of dirty) {
      try {
        r.prepare(op);
      } catch {
        // still assigned: plan keeps its entry in the table
      }
    }
    for (const r of dirty) r.plan();
    try {
      this.table.commit(`${op} (rollback)`);
    } catch {
      // the kernel keeps the table it has; converge assigns only what that table routes
    }
    for (const r of dirty) {
      try {
        r.converge(op);
      } catch {
        // not delivering: the route says so below
      }
    }
    if (!(error instanceof VirtError)) {
      this.record(dirty, undefined);
      return error;
    }
    const faulted = dirty.filter((r) => !r.disposed && !r.matchesKernel()).length;
    const outcome =
      faulted === 0
        ? 'Every route changed in this call is as it was before it.'
        : `The kernel refused the rollback too: ${faulted} route(s) now report what the kernel does (route.fault says why; ` +
          'they do not deliver, and their signals latch, unless the kernel kept their irqfd assigned) and converge to what was asked at the next operation that succeeds.';
    const wrapped = new VirtError(error.code, {
      operation: error.operation,
      detail: error.detail,
      hint: [error.hint, outcome].filter(Boolean).join(' '),
      ...(error.errno === undefined ? {} : { errno: error.errno }),
      ...(error.errnoName === undefined ? {} : { errnoName: error.errnoName }),
      cause: error,
    });
    this.record(dirty, wrapped);
    return wrapped;
  }

  /** Records which routes match the kernel, frees what nothing uses any more. */
  private record(routes: Iterable<EngineRoute>, error: VirtError | undefined): void {
    for (const r of routes) {
      if (r.disposed) continue;
      r.releaseUnusedGsi();
      if (r.reconcile(error)) this.unsynced.delete(r);
      else this.unsynced.add(r);
      if (r.wantsGsi) this.waiting.add(r);
      else this.waiting.delete(r);
      if (r.coalescingRetarget) this.coalescing.add(r);
      else this.coalescing.delete(r);
    }
    this.sweepRetired();
  }

  /** Moves relayed routes onto free GSIs: one commit, then each route's relay stops and its irqfd is assigned. */
  private promote(op: string): void {
    if (this.waiting.size === 0 || this.gsis.size === this.gsis.capacity) return;
    const moving: EngineRoute[] = [];
    for (const r of this.waiting) {
      if (r.disposed || this.unsynced.has(r)) continue;
      r.plan();
      if (r.gsi === undefined) break; // no GSI left
      moving.push(r);
    }
    if (moving.length === 0) return;
    let error: VirtError | undefined;
    try {
      this.table.commit(`${op} (moving relayed routes to the kernel)`);
    } catch {
      // they stay relayed, still delivering; the next transaction tries again
      this.record(moving, undefined);
      return;
    }
    for (const r of moving) {
      try {
        r.converge(op);
      } catch (e) {
        error = e instanceof VirtError ? e : error;
      }
    }
    this.record(moving, error);
  }

  private sweepRetired(): void {
    for (const gsi of this.retired) {
      if (this.table.kernelMsi(gsi) !== undefined || this.table.desiredMsi(gsi) !== undefined) continue;
      this.retired.delete(gsi);
      this.gsis.release(gsi);
    }
  }

  /**
   * @internal A route is being disposed: the engine takes over its GSI (freed once no committed
   * table holds it). With `assignedFd`, the kernel refused to deassign the route's irqfd from `gsi`:
   * the engine now owns that descriptor, keeps `gsi` routed as the kernel has it, and retries the
   * deassign at its later operations.
   */
  forget(route: EngineRoute, gsi: number | undefined, assignedFd: number | undefined): void {
    this.routes.delete(route);
    this.txn.forget(route);
    this.unsynced.delete(route);
    this.waiting.delete(route);
    this.coalescing.delete(route);
    this.slots.release(route.slot);
    const commits = !this.txn.open && !this.isDisposed;
    // Earlier lingering irqfds first: this route's deassign was just tried twice.
    if (commits) this.retryLingering();
    if (gsi !== undefined && assignedFd !== undefined) {
      // Still assigned: its route stays in the table as the kernel has it, and the GSI stays taken.
      this.table.set(gsi, this.table.kernelMsi(gsi));
      this.lingering.set(gsi, assignedFd);
    } else if (gsi !== undefined) {
      this.table.set(gsi, undefined);
      this.retired.add(gsi);
    }
    if (!commits) return;
    try {
      this.table.commit('IrqFdRoute.dispose');
    } catch {
      // The GSI stays retired (not reused) until a later commit removes its route.
    }
    this.sweepRetired();
    this.promote('IrqFdRoute.dispose');
  }

  /**
   * Retries the deassign of every lingering irqfd; each that succeeds closes its descriptor and
   * retires its GSI like any disposed route's (its entry goes at the next commit, the GSI is freed
   * after it). A refusal leaves it lingering, silently: the operation that got here is not its own.
   */
  private retryLingering(): void {
    if (this.lingering.size === 0) return;
    for (const [gsi, fd] of this.lingering) {
      if (this.irqfdIoctl(fd, gsi, false) < 0) continue;
      this.lingering.delete(gsi);
      this.sys.close(fd);
      this.table.set(gsi, undefined);
      this.retired.add(gsi);
    }
  }

  /**
   * @internal The irqfd ioctl binding (`assign`) or unbinding eventfd `fd` and `gsi`, written from
   * the backend's layout and issued on its fd: what the kernel returned, `-errno` on failure.
   */
  irqfdIoctl(fd: number, gsi: number, assign: boolean): number {
    const v = this.irqfdView;
    v.setUint32(this.irqfdFdAt, fd, true);
    v.setUint32(this.irqfdGsiAt, gsi, true);
    v.setUint32(this.irqfdFlagsAt, assign ? 0 : this.deassignFlag, true);
    const b = this.backend;
    return b.sys.ioctl(b.fd, b.ioctls.irqfd, this.irqfdBytes);
  }
}
