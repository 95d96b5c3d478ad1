/**
 * The per-vector route state machine: what each vector's route (or, without one, the user-space
 * injector) must be for the registers the guest programmed, what the emulator believes the route is
 * (masked, its message), and the pending bits. Every transition is driven from here; the guest
 * path never throws, failures are reported and leave the vector not delivering, interrupts pending.
 */
import { type MsiPolicy, VirtError, validateMsi } from '@tsvmm/virt';
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import type { Refusal } from './access-args';
import type { MsiInjector, MsixBatch, MsixErrorHandler, MsixRoute } from './route';

/** Tracked route state: 0 no, 1 yes, 2 unknown (after a failed batch or a fresh `attach`). */
const NO = 0;
const YES = 1;
const UNKNOWN = 2;

export const noBatch: MsixBatch = (fn) => fn();

export interface VectorRoutesOptions {
  readonly inject: MsiInjector | undefined;
  readonly policy: MsiPolicy;
  readonly onError: MsixErrorHandler | undefined;
  /** Drives vector `v` again from the registers: {@link MsixVectorRoutes.sync} with its registers and `preload`. */
  readonly resync: (v: number) => void;
}

export class MsixVectorRoutes {
  /** Pending bits the emulator holds (route-latched signals are folded in when the PBA is read). */
  readonly pending: Uint8Array;
  /** 1 while the vector delivers: unmasked, its message accepted, and a route armed or an injector present. */
  readonly open: Uint8Array;
  errors = 0;
  lastError: Error | undefined;

  private routes: readonly (MsixRoute | undefined)[] | undefined;
  private batch: MsixBatch = noBatch;
  private readonly rMasked: Uint8Array;
  private readonly rHasMsi: Uint8Array;
  private readonly rMsi: Uint32Array;
  private readonly options: VectorRoutesOptions;

  constructor(
    private readonly vectors: number,
    options: VectorRoutesOptions,
  ) {
    this.options = options;
    this.pending = new Uint8Array(vectors);
    this.open = new Uint8Array(vectors);
    this.rMasked = new Uint8Array(vectors);
    this.rHasMsi = new Uint8Array(vectors);
    this.rMsi = new Uint32Array(vectors * 3);
  }

  get attached(): boolean {
    return this.routes !== undefined;
  }

  /** INVALID_ARGUMENT, before any change, for a wrong length, a shared route or something that is not a route. */
  check(op: string, routes: readonly (MsixRoute | undefined)[], batch: unknown): void {
    if (!Array.isArray(routes) || routes.length !== this.vectors) {
      throw invalidArgument(op, `routes must be an array of ${this.vectors} entries (one per vector, undefined for none)`);
    }
    const seen = new Set<unknown>();
    for (let v = 0; v < routes.length; v++) {
      const r = routes[v] as Partial<MsixRoute> | undefined | null;
      if (r === undefined || r === null) continue;
      if (seen.has(r)) throw invalidArgument(op, `routes[${v}] is also given for another vector; each vector needs its own route`);
      seen.add(r);
      for (const m of ['setMsi', 'clearMsi', 'mask', 'unmask', 'consumePending', 'signal'] as const) {
        if (typeof r[m] !== 'function') throw invalidArgument(op, `routes[${v}] has no ${m}() method`);
      }
    }
    if (batch !== undefined && typeof batch !== 'function') throw invalidArgument(op, 'options.batch must be a function');
  }

  /** Takes routes of unknown state (checked by {@link check}) and drives them all, in one batch. */
  attach(routes: readonly (MsixRoute | undefined)[], batch: MsixBatch | undefined): void {
    const list: (MsixRoute | undefined)[] = [];
    for (let v = 0; v < this.vectors; v++) list.push(routes[v] ?? undefined);
    this.routes = list;
    this.batch = batch ?? noBatch;
    this.rMasked.fill(UNKNOWN);
    this.rHasMsi.fill(UNKNOWN);
    this.bulk(() => this.resyncAll());
  }

  /** Every vector driven again from the registers, with preload. */
  resyncAll(): void {
    for (let v = 0; v < this.vectors; v++) this.options.resync(v);
  }

  /** Masks and clears every route, moving what it latched into the pending bits; then forgets them. */
  detach(): void {
    const routes = this.routes;
    if (routes === undefined) return;
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) {
        const r = routes[v];
        if (r === undefined) continue;
        const masked = this.call(v, 'MsixRoute.mask', () => r.mask());
        const cleared = this.call(v, 'MsixRoute.clearMsi', () => r.clearMsi());
        // An armed route has nothing latched; asking it anyway is what the guest path never does.
        if (masked || cleared) {
          this.call(v, 'MsixRoute.consumePending', () => {
            if (r.consumePending()) this.pending[v] = 1;
          });
        }
      }
    });
    this.routes = undefined;
    this.batch = noBatch;
  }

  /** Masks every route and drops what it latched, then drives every vector again; one batch. */
  dropLatches(): void {
    const routes = this.routes;
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) {
        const r = routes?.[v];
        if (r !== undefined) {
          this.open[v] = 0;
          if (this.rMasked[v] !== YES && this.call(v, 'MsixRoute.mask', () => r.mask())) this.rMasked[v] = YES;
          if (this.rMasked[v] === YES) this.call(v, 'MsixRoute.consumePending', () => r.consumePending());
        }
        this.options.resync(v);
      }
    });
  }

  /**
   * Forgets every interrupt vector `v` holds: its pending bit, and what its route latched (the
   * route is masked first, so asking it drains nothing that could deliver). Used when a vector
   * stops or starts existing for the function (plain MSI's Multiple Message Enable); the caller
   * drives the vector again afterwards.
   */
  dropLatch(v: number): void {
    this.pending[v] = 0;
    this.open[v] = 0;
    const r = this.routes?.[v];
    if (r === undefined) return;
    if (this.rMasked[v] !== YES && this.call(v, 'MsixRoute.mask', () => r.mask())) this.rMasked[v] = YES;
    if (this.rMasked[v] === YES) this.call(v, 'MsixRoute.consumePending', () => r.consumePending());
  }

  /**
   * The pending bit of `v` as the guest sees it. A vector that does not deliver may have a signal
   * latched in its route (a device signalled the event directly): `consumePending` moves it into
   * the emulator's bit, which then stays set until the vector delivers. A delivering vector's
   * route is never asked (it has nothing latched; asking must not drain anything).
   */
  pendingBit(v: number): boolean {
    if (this.pending[v] === 1) return true;
    if (this.open[v] === 1) return false;
    const r = this.routes?.[v];
    if (r === undefined || !(this.rMasked[v] === YES || this.rHasMsi[v] === NO)) return false;
    try {
      if (r.consumePending()) {
        this.pending[v] = 1;
        return true;
      }
    } catch (e) {
      this.report(e, v, 'MsixRoute.consumePending');
    }
    return false;
  }

  /** The device raises `v`, whose message is `lo/hi/data`: sent now (true) or made pending. Never throws. */
  signal(v: number, lo: number, hi: number, data: number): boolean {
    if (this.open[v] === 1) {
      const r = this.routes?.[v];
      try {
        if (r !== undefined) r.signal();
        else this.options.inject!(lo, hi, data);
        return true;
      } catch (e) {
        this.report(e, v, r !== undefined ? 'MsixRoute.signal' : 'requestMsi');
      }
    }
    this.pending[v] = 1;
    return false;
  }

  /**
   * Brings vector `v`'s route (or, without a route, its `open` flag) to what the registers say:
   * `unmasked` (Enable, Function Mask clear, its Mask bit clear), `enabled` (MSI-X Enable) and the
   * message `lo/hi/data` the route should carry. A vector delivers when it is unmasked and its
   * message is accepted; a pending bit is delivered exactly once as it opens, by latching it in the
   * still-masked route before arming it (the route's own latch coalesces with it), so the interrupt
   * has exactly one path into the guest. Never throws: failures are reported and leave the vector
   * not delivering, its interrupts pending.
   *
   * `preload` (bulk transitions only): a masked vector of an enabled function that holds an MSI
   * address gets its message programmed too, inside the same batch, so the guest's later per-vector
   * unmask (how Linux brings vectors up) costs no routing commit of its own. A message the route
   * refuses is not an error while the vector is masked: it is reported if the guest unmasks it.
   */
  sync(v: number, unmasked: boolean, enabled: boolean, lo: number, hi: number, data: number, preload = false): void {
    const r = this.routes?.[v];
    if (r === undefined) {
      const inject = this.options.inject;
      const deliverable = unmasked && inject !== undefined && this.acceptable(lo, hi, data);
      this.open[v] = deliverable ? 1 : 0;
      if (deliverable && this.pending[v] === 1) {
        this.pending[v] = 0;
        try {
          inject(lo, hi, data);
        } catch (e) {
          this.report(e, v, 'requestMsi');
        }
      }
      return;
    }
    if (unmasked) {
      if (this.arm(v, r, lo, hi, data)) return;
    }
    this.open[v] = 0;
    if (this.rMasked[v] !== YES && this.call(v, 'MsixRoute.mask', () => r.mask())) this.rMasked[v] = YES;
    if (!enabled) {
      if (this.rHasMsi[v] !== NO && this.call(v, 'MsixRoute.clearMsi', () => r.clearMsi())) this.rHasMsi[v] = NO;
      return;
    }
    if (preload && !unmasked && this.rMasked[v] === YES && lo >>> 20 === 0xfee) {
      const m = this.rMsi;
      const i = v * 3;
      if (this.rHasMsi[v] === YES && m[i] === lo && m[i + 1] === hi && m[i + 2] === data) return;
      try {
        r.setMsi(lo, hi, data);
        this.rHasMsi[v] = YES;
        m[i] = lo;
        m[i + 1] = hi;
        m[i + 2] = data;
      } catch {
        // Checked again, and reported, when the guest unmasks the vector.
      }
    }
  }

  /**
   * Runs a bulk transition inside the backend's batch. If the commit fails, the backend has rolled
   * every route of the batch back, so the emulator no longer knows which calls stuck: it marks the
   * routes unknown and re-drives all of them once, in a new batch. If that fails too, the routes
   * stay unknown (not delivering, not asked by PBA reads) until the next resync.
   */
  bulk(fn: () => void): void {
    const routes = this.routes;
    if (routes === undefined || this.batch === noBatch) {
      fn();
      return;
    }
    try {
      this.batch(fn);
      return;
    } catch (e) {
      this.report(e, -1, 'MsixBatch');
    }
    this.rMasked.fill(UNKNOWN);
    this.rHasMsi.fill(UNKNOWN);
    try {
      this.batch(() => this.resyncAll());
    } catch (e) {
      this.report(e, -1, 'MsixBatch (retry)');
      this.rMasked.fill(UNKNOWN);
      this.rHasMsi.fill(UNKNOWN);
      for (let v = 0; v < this.vectors; v++) if (routes[v] !== undefined) this.open[v] = 0;
    }
  }

  /** Programs and unmasks `r`; false (reported) when the route refuses, e.g. INVALID_MSI. */
  private arm(v: number, r: MsixRoute, lo: number, hi: number, data: number): boolean {
    const m = this.rMsi;
    const i = v * 3;
    try {
      if (this.pending[v] === 1) {
        if (this.rMasked[v] !== YES) {
          r.mask();
          this.rMasked[v] = YES;
        }
        r.signal();
        this.pending[v] = 0;
      }
      if (this.rHasMsi[v] !== YES || m[i] !== lo || m[i + 1] !== hi || m[i + 2] !== data) {
        r.setMsi(lo, hi, data);
        this.rHasMsi[v] = YES;
        m[i] = lo;
        m[i + 1] = hi;
        m[i + 2] = data;
      }
      if (this.rMasked[v] !== NO) {
        r.unmask();
        this.rMasked[v] = NO;
      }
      this.open[v] = 1;
      return true;
    } catch (e) {
      this.report(e, v, 'MsixRoute (arming)');
      return false;
    }
  }

  /** Whether a route-less vector may inject this message under the policy. */
  private acceptable(lo: number, hi: number, data: number): boolean {
    try {
      validateMsi('MsixEmulator', { addressLo: lo, addressHi: hi, data }, this.options.policy);
      return true;
    } catch {
      return false;
    }
  }

  private call(v: number, operation: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.report(e, v, operation);
      return false;
    }
  }

  /** INVALID_ARGUMENT unless `vector` is an integer from 0 to vectors - 1: the first check of each emulator's per-vector query. */
  checkVector(op: string, vector: number): void {
    if (!(Number.isInteger(vector) && vector >= 0 && vector < this.vectors)) {
      throw invalidArgument(op, `vector must be an integer from 0 to ${this.vectors - 1}, got ${describeValue(vector)}`);
    }
  }

  /** Reports a refused guest-access argument (INVALID_ARGUMENT, vector -1) and returns `result`: an access is never thrown into the VMM. */
  refuse<T>(op: string, refusal: Refusal, result: T): T {
    this.report(invalidArgument(op, refusal.refused, 'Fix the argument; the access did nothing.'), -1, op);
    return result;
  }

  /**
   * Counts and hands a failure to `onError`. What a route, the batch or `requestMsi` threw is passed
   * on as is when it is a VirtError; anything else (a user callback's TypeError, a thrown string) is
   * wrapped in one, the original kept as `cause`, so `onError` always sees a code to branch on.
   */
  report(e: unknown, vector: number, operation: string): void {
    const err = VirtError.is(e) ? e : foreignFailure(e, operation);
    this.errors++;
    this.lastError = err;
    const onError = this.options.onError;
    if (onError !== undefined) {
      try {
        onError(err, vector, operation);
      } catch {
        // The handler's own failure must not reach the guest path either.
      }
    }
  }
}

/** A non-VirtError thrown by user code (a route, the batch, `requestMsi`) as a VirtError. Never throws. */
function foreignFailure(e: unknown, operation: string): VirtError {
  let what: string;
  try {
    what = e instanceof Error ? `${e.name}: ${e.message}` : `a non-Error value (${typeof e === 'string' ? e : typeof e})`;
  } catch {
    what = 'an error that could not be described';
  }
  return new VirtError('INTERNAL', {
    operation,
    detail: `${operation} threw ${what}`,
    hint: `The callback given as ${operation === 'requestMsi' ? 'requestMsi' : 'a route or batch'} failed (its error is the cause); fix it, then call resync(). The interrupt stays pending.`,
    cause: e,
  });
}
