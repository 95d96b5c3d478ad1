/**
 * The conformance suite must catch broken backends. Each backend here is the software backend
 * with one rule broken; the suite must fail the case that covers that rule, and pass the healthy one.
 */
import type { Event, IrqFd, IrqFdRoute, Partition } from '@tsvmm/virt';
import { VirtError } from '@tsvmm/virt';
import { type ConformanceFactory, apicObserver, runIrqFdConformance } from '@tsvmm/virt/conformance';
import { SoftwarePartition } from '../src';

type RouteHooks = Partial<{
  setMsi(inner: IrqFdRoute, address: number | bigint, data: number): void;
  mask(inner: IrqFdRoute): void;
  unmask(inner: IrqFdRoute): void;
  consumePending(inner: IrqFdRoute): boolean;
  dispose(inner: IrqFdRoute, already: boolean): void;
  afterDispose: boolean; // route calls after dispose silently succeed
  subscribeAfterDispose: boolean; // onEventReplaced after dispose silently succeeds
}>;

interface Breakage {
  route?: RouteHooks;
  newRoute?(inner: IrqFd): IrqFdRoute;
  capabilities?: Partial<IrqFd['capabilities']>;
  countCommitsPerChange?: boolean;
}

class BrokenRoute implements IrqFdRoute {
  private gone = false;
  constructor(
    readonly inner: IrqFdRoute,
    private readonly hooks: RouteHooks,
    private readonly onChange: () => void,
  ) {}
  get event(): Event {
    return this.inner.event;
  }
  get msi() {
    return this.inner.msi;
  }
  get masked() {
    return this.inner.masked;
  }
  get disposed() {
    return this.inner.disposed;
  }
  private pass(): boolean {
    return this.gone && this.hooks.afterDispose === true;
  }
  setMsi(address: number | bigint, data: number): void {
    if (this.pass()) return;
    this.onChange();
    if (this.hooks.setMsi) this.hooks.setMsi(this.inner, address, data);
    else this.inner.setMsi(address, data);
  }
  clearMsi(): void {
    if (this.pass()) return;
    this.onChange();
    this.inner.clearMsi();
  }
  mask(): void {
    if (this.pass()) return;
    if (this.hooks.mask) this.hooks.mask(this.inner);
    else this.inner.mask();
  }
  unmask(): void {
    if (this.pass()) return;
    if (this.hooks.unmask) this.hooks.unmask(this.inner);
    else this.inner.unmask();
  }
  consumePending(): boolean {
    if (this.pass()) return false;
    return this.hooks.consumePending ? this.hooks.consumePending(this.inner) : this.inner.consumePending();
  }
  onEventReplaced(listener: (event: Event) => void): () => void {
    if (this.gone && this.hooks.subscribeAfterDispose) return () => undefined;
    return this.inner.onEventReplaced(listener);
  }
  dispose(): void {
    const already = this.gone;
    this.gone = true;
    if (this.hooks.dispose) this.hooks.dispose(this.inner, already);
    else this.inner.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function brokenFactory(name: string, breakage: Breakage): ConformanceFactory {
  return {
    name,
    create() {
      const partition = SoftwarePartition.create({ vcpus: 2, maxRoutes: 32 });
      const inner = partition.irqfd()!;
      let commits = 0;
      const irqfd: IrqFd = {
        capabilities: Object.freeze({ ...inner.capabilities, ...breakage.capabilities }),
        get routeCount() {
          return inner.routeCount;
        },
        get commitCount() {
          return commits;
        },
        newIrqFdRoute: () =>
          breakage.newRoute
            ? breakage.newRoute(inner)
            : new BrokenRoute(inner.newIrqFdRoute(), breakage.route ?? {}, () => {
                if (breakage.countCommitsPerChange) commits++;
              }),
        batch: (fn) => {
          const r = inner.batch(fn);
          if (breakage.capabilities?.routingTable && !breakage.countCommitsPerChange) commits++;
          return r;
        },
      };
      const wrapped: Partition = {
        backend: partition.backend,
        vcpuCount: partition.vcpuCount,
        capabilities: Object.freeze({ ...partition.capabilities, irqfd: irqfd.capabilities.mediation }),
        get disposed() {
          return partition.disposed;
        },
        irqfd: () => irqfd,
        requestMsi: (a, d) => partition.requestMsi(a, d),
        dispose: () => partition.dispose(),
        [Symbol.dispose]: () => partition.dispose(),
      };
      return { partition: wrapped, observer: apicObserver(partition), settle: () => Promise.resolve(), dispose: () => partition.dispose() };
    },
  };
}

async function failures(factory: ConformanceFactory): Promise<string[]> {
  return (await runIrqFdConformance(factory)).filter((r) => !r.passed).map((r) => r.name);
}

test('the healthy software backend passes every case (through the same wrapper)', async () => {
  expect(await failures(brokenFactory('healthy', {}))).toEqual([]);
});

const cases: Array<[string, Breakage, string]> = [
  [
    'mask loses the latched signal (unmask drains before arming)',
    { route: { unmask: (r) => (r.consumePending(), r.unmask()) } },
    'mask → signal → unmask delivers exactly once',
  ],
  [
    'consumePending reports without clearing (double delivery at unmask)',
    {
      route: {
        consumePending: (r) => {
          const p = r.consumePending();
          if (p) r.event.signal();
          return p;
        },
      },
    },
    'mask → signal → consumePending reports it once; unmask then delivers nothing',
  ],
  [
    'retarget ignored while unmasked',
    { route: { setMsi: (r, a, d) => (r.masked || r.msi === undefined ? r.setMsi(a, d) : undefined) } },
    'setMsi while unmasked retargets: the next signal lands on the new vCPU and vector only',
  ],
  [
    'every route lands on vCPU 0',
    { route: { setMsi: (r, a, d) => r.setMsi((Number(a) & ~0xff000) >>> 0, d) } },
    'delivery: each vector lands on the vCPU its APIC ID names, and nowhere else',
  ],
  [
    'a side effect before validation (masks, then rejects)',
    { route: { setMsi: (r, a, d) => (r.mask(), r.setMsi(a, d)) } },
    'bad inputs are rejected with a typed error before any side effect',
  ],
  [
    'a rejected setMsi on a masked route drops its latched signal',
    {
      route: {
        setMsi: (r, a, d) => {
          if (r.masked) r.consumePending();
          r.setMsi(a, d);
        },
      },
    },
    'bad inputs are rejected with a typed error before any side effect',
  ],
  [
    'onEventReplaced after dispose silently succeeds',
    { route: { subscribeAfterDispose: true } },
    'use after dispose: every call throws DISPOSED',
  ],
  [
    'one commit per change inside a batch',
    { capabilities: { routingTable: true }, countCommitsPerChange: true },
    'batch: N route changes cost at most one commit, and every route delivers after it',
  ],
  [
    'a routing table whose failed commits the suite cannot provoke (no failNextCommit)',
    { capabilities: { routingTable: true } },
    'batch: a failed commit throws a typed error and rolls every route of the batch back',
  ],
  [
    'dispose is not idempotent',
    {
      route: {
        dispose: (r, already) => {
          if (already) throw new Error('double dispose');
          r.dispose();
        },
      },
    },
    'dispose: idempotent, Symbol.dispose works, releases the route, delivers nothing after',
  ],
  [
    'calls after dispose silently succeed',
    { route: { afterDispose: true } },
    'use after dispose: every call throws DISPOSED',
  ],
  [
    'exhaustion is an untyped error',
    {
      newRoute: (inner) => {
        try {
          return inner.newIrqFdRoute();
        } catch (e) {
          throw e instanceof VirtError ? new Error(e.message) : e;
        }
      },
    },
    'exhaustion: maxRoutes routes, then a typed EXHAUSTED error; recovers after a dispose',
  ],
];

test.each(cases)('the suite catches a backend where %s', async (_what, breakage, expectedCase) => {
  const failed = await failures(brokenFactory('broken', breakage));
  expect(failed).toContain(expectedCase);
});
