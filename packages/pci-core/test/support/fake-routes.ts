/**
 * Routes that follow the IrqFdRoute delivery contract in memory, record every call and delivery,
 * and flag any use the emulator must never make (draining an armed route, calls on a detached
 * route). Failures can be injected per method.
 */
import { DEFAULT_MSI_POLICY, type MsiPolicy, VirtError, validateMsi } from '@tsvmm/virt';
import type { MsixRoute } from '../../src';

export interface Delivery {
  readonly via: 'route' | 'inject';
  /** The route's vector, or -1 for an injection. */
  readonly vector: number;
  readonly lo: number;
  readonly hi: number;
  readonly data: number;
}

export interface Call {
  readonly vector: number;
  readonly method: keyof MsixRoute;
  readonly args: readonly number[];
  readonly inBatch: boolean;
}

type Method = keyof MsixRoute;

export class FakeRoute implements MsixRoute {
  msi: { lo: number; hi: number; data: number } | undefined;
  masked = true;
  latched = false;
  attached = true;

  constructor(
    readonly set: FakeRouteSet,
    readonly vector: number,
  ) {}

  get armed(): boolean {
    return this.msi !== undefined && !this.masked;
  }

  setMsi(lo: number, hi: number, data: number): void {
    this.enter('setMsi', [lo, hi, data]);
    validateMsi('FakeRoute.setMsi', { addressLo: lo, addressHi: hi, data }, this.set.policy);
    this.msi = { lo: lo >>> 0, hi: hi >>> 0, data: data >>> 0 };
    this.set.routingChange();
    this.flush();
  }

  clearMsi(): void {
    this.enter('clearMsi', []);
    if (this.msi !== undefined) this.set.routingChange();
    this.msi = undefined;
  }

  mask(): void {
    this.enter('mask', []);
    this.masked = true;
  }

  unmask(): void {
    this.enter('unmask', []);
    this.masked = false;
    this.flush();
  }

  consumePending(): boolean {
    this.enter('consumePending', []);
    if (this.armed) {
      this.set.violations.push(`consumePending on armed route ${this.vector}`);
      return false;
    }
    const p = this.latched;
    this.latched = false;
    return p;
  }

  signal(): void {
    this.enter('signal', []);
    this.deviceSignal();
  }

  /** The kernel path: a device signals the event directly, bypassing the emulator. */
  deviceSignal(): void {
    if (this.armed) this.set.deliver('route', this.vector, this.msi!);
    else this.latched = true;
  }

  private flush(): void {
    if (this.armed && this.latched) {
      this.latched = false;
      this.set.deliver('route', this.vector, this.msi!);
    }
  }

  private enter(method: Method, args: number[]): void {
    this.set.calls.push({ vector: this.vector, method, args, inBatch: this.set.depth > 0 });
    if (!this.attached) this.set.violations.push(`${method} on detached route ${this.vector}`);
    const f = this.set.failures.get(method);
    if (f !== undefined && (f.vector === undefined || f.vector === this.vector) && f.remaining > 0) {
      f.remaining--;
      throw new VirtError('SYSCALL', { operation: `FakeRoute.${method}`, detail: 'injected failure', errno: 5, errnoName: 'EIO' });
    }
  }
}

export class FakeRouteSet {
  readonly routes: FakeRoute[];
  readonly deliveries: Delivery[] = [];
  readonly calls: Call[] = [];
  readonly violations: string[] = [];
  readonly failures = new Map<Method | 'batch', { vector: number | undefined; remaining: number }>();
  /** Routing-table commits, counted as KVM does: one per batch with changes, one per change outside a batch. */
  commits = 0;
  batches = 0;
  depth = 0;
  private changed = false;

  constructor(
    readonly vectors: number,
    readonly policy: MsiPolicy = DEFAULT_MSI_POLICY,
    withRoute: (v: number) => boolean = () => true,
  ) {
    this.routes = [];
    for (let v = 0; v < vectors; v++) this.routes.push(new FakeRoute(this, v));
    this.present = this.routes.map((_, v) => withRoute(v));
  }

  readonly present: boolean[];

  /** The array to hand to `setRoutes`: undefined where a vector has no route. */
  get forEmulator(): (FakeRoute | undefined)[] {
    return this.routes.map((r, v) => (this.present[v] ? r : undefined));
  }

  readonly batch = <T>(fn: () => T): T => {
    this.depth++;
    let result: T;
    try {
      result = fn();
    } finally {
      this.depth--;
    }
    if (this.depth === 0) {
      this.batches++;
      const f = this.failures.get('batch');
      if (f !== undefined && f.remaining > 0) {
        f.remaining--;
        this.changed = false;
        throw new VirtError('SYSCALL', { operation: 'FakeRouteSet.batch', detail: 'injected commit failure', errno: 22, errnoName: 'EINVAL' });
      }
      if (this.changed) this.commits++;
      this.changed = false;
    }
    return result;
  };

  readonly inject = (lo: number, hi: number, data: number): void => {
    this.deliver('inject', -1, { lo, hi, data });
  };

  /** Makes the next `times` calls of `method` (on `vector`, or any) throw. */
  fail(method: Method | 'batch', times = 1, vector?: number): void {
    this.failures.set(method, { vector, remaining: times });
  }

  routingChange(): void {
    if (this.depth > 0) this.changed = true;
    else this.commits++;
  }

  deliver(via: 'route' | 'inject', vector: number, m: { lo: number; hi: number; data: number }): void {
    this.deliveries.push({ via, vector, lo: m.lo >>> 0, hi: m.hi >>> 0, data: m.data >>> 0 });
  }

  /** Deliveries since the last call. */
  take(): Delivery[] {
    return this.deliveries.splice(0);
  }

  callsOf(method: Method, vector?: number): Call[] {
    return this.calls.filter((c) => c.method === method && (vector === undefined || c.vector === vector));
  }
}
