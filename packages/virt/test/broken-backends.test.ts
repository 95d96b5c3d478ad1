/**
 * The conformance suite must catch broken backends. Each backend here is the minimal backend
 * (built from this package alone: the relay, the in-process platform, the APIC bus model) with one
 * rule broken; the suite must fail the case that covers that rule, and pass the healthy one.
 */
import type { Event, IrqFd, IrqFdRoute, Partition } from '../src';
import { VirtError } from '../src';
import { type ConformanceFactory, type ConformanceManifest, apicObserver, defineIrqFdConformance as defineIrqFdConformanceFor, runIrqFdConformance } from '../src/conformance';
import { type MinimalOptions, type ReplacingBreakage, minimalPartition, replacingPartition } from './support/minimal-backend';
import { ForwardingRoute } from './support/forwarding-route';
import { type OverflowBreakage, overflowPartition } from './support/overflow-backend';

type RouteHooks = Partial<{
  setMsi(inner: IrqFdRoute, address: number | bigint, data: number): void;
  mask(inner: IrqFdRoute): void;
  unmask(inner: IrqFdRoute): void;
  consumePending(inner: IrqFdRoute): boolean;
  dispose(inner: IrqFdRoute, already: boolean): void;
  mediation(inner: IrqFdRoute): unknown;
  afterDispose: boolean; // route calls after dispose silently succeed
  subscribeAfterDispose: boolean; // onEventReplaced after dispose silently succeeds
}>;

interface Breakage {
  route?: RouteHooks;
  supports?: Partial<ConformanceManifest>;
  backend?: MinimalOptions;
  newRoute?(inner: IrqFd): IrqFdRoute;
  capabilities?: Partial<IrqFd['capabilities']>;
  countCommitsPerChange?: boolean;
}

class BrokenRoute extends ForwardingRoute {
  private gone = false;
  constructor(
    inner: IrqFdRoute,
    private readonly hooks: RouteHooks,
    private readonly onChange: () => void,
  ) {
    super(inner);
  }
  override get mediation() {
    return (this.hooks.mediation ? this.hooks.mediation(this.inner) : this.inner.mediation) as IrqFdRoute['mediation'];
  }
  private pass(): boolean {
    return this.gone && this.hooks.afterDispose === true;
  }
  override setMsi(address: number | bigint, data: number): void {
    if (this.pass()) return;
    this.onChange();
    if (this.hooks.setMsi) this.hooks.setMsi(this.inner, address, data);
    else this.inner.setMsi(address, data);
  }
  override clearMsi(): void {
    if (this.pass()) return;
    this.onChange();
    this.inner.clearMsi();
  }
  override mask(): void {
    if (this.pass()) return;
    if (this.hooks.mask) this.hooks.mask(this.inner);
    else this.inner.mask();
  }
  override unmask(): void {
    if (this.pass()) return;
    if (this.hooks.unmask) this.hooks.unmask(this.inner);
    else this.inner.unmask();
  }
  override consumePending(): boolean {
    if (this.pass()) return false;
    return this.hooks.consumePending ? this.hooks.consumePending(this.inner) : this.inner.consumePending();
  }
  override onEventReplaced(listener: (event: Event) => void): () => void {
    if (this.gone && this.hooks.subscribeAfterDispose) return () => undefined;
    return this.inner.onEventReplaced(listener);
  }
  override dispose(): void {
    const already = this.gone;
    this.gone = true;
    if (this.hooks.dispose) this.hooks.dispose(this.inner, already);
    else this.inner.dispose();
  }
}

function brokenFactory(name: string, breakage: Breakage): ConformanceFactory {
  return {
    name,
    ...(breakage.supports ? { supports: breakage.supports } : {}),
    create() {
      const partition = minimalPartition({ maxRoutes: 32, ...breakage.backend });
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
        settle: () => inner.settle(),
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
  return (await runIrqFdConformance(factory)).filter((r) => !r.passed && r.skipped === undefined).map((r) => r.name);
}

function replacingFactory(name: string, broken: ReplacingBreakage): ConformanceFactory {
  return {
    name,
    supports: { stableEvent: false },
    create() {
      const partition = replacingPartition(broken);
      return { partition, observer: apicObserver(partition), settle: () => Promise.resolve(), dispose: () => partition.dispose() };
    },
  };
}

function overflowFactory(name: string, broken: OverflowBreakage, waiterThread = false): ConformanceFactory {
  return {
    name,
    supports: { stableEvent: true, routingTable: false, mediation: 'kernel', resample: false, x2apic: false, overflow: true },
    create() {
      const partition = overflowPartition({ kernelRoutes: 4, broken });
      const irqfd = partition.irqfd()!;
      return { partition, observer: apicObserver(partition), settle: () => irqfd.settle(), ...(waiterThread ? { waiterThread } : {}), dispose: () => partition.dispose() };
    },
  };
}

const X2APIC_BACKEND: MinimalOptions = { apicIds: [0, 1, 0x1234], x2apic: true };
const REPLACEMENT_CASE = 'event replacement: the listener gets each new event once; the old one no longer delivers; the new one does; a latched signal is delivered once';
const X2APIC_CASE = 'x2apic: a route and requestMsi reach a vCPU whose APIC ID is above 255 through the upper address';
const X2APIC = {
  extended: 'x2apic: an extended destination ID (address bits 11:5) reaches the same vCPU as the upper address, on a route and by requestMsi',
  retarget: 'x2apic: retargeting an unmasked route between a low and a high APIC ID loses nothing and lands each signal on its target',
  broadcast: 'x2apic: 0xFFFFFFFF broadcasts to every vCPU, 0xFF names APIC ID 255 only, a logical cluster reaches its member',
  limits: 'limits: a destination the partition cannot reach is INVALID_MSI naming the limit, before any change',
};
const MANIFEST_CASE = 'manifest: what the backend declares matches its live capabilities';
const MEDIATION_CASE = 'route.mediation: every route reports the irqfd’s mediation for its whole life (no overflow)';
const OVERFLOW = {
  split: 'overflow: the first maxKernelRoutes routes to get an MSI report kernel, the rest emulated (masked or not)',
  delivery: 'overflow: every route, kernel or relayed, delivers each signal exactly once to its own message; a relayed retarget applies to the next signal',
  masking: 'overflow: masking a relayed route latches (consumePending once, nothing delivered); unmask delivers a latched signal once',
  dispose: 'overflow: disposing a kernel route moves one relayed route to the kernel; signals raised just before the move land once',
  clearMsi: 'overflow: clearMsi on a kernel route moves one relayed route to the kernel; the cleared route latches, and relays once given an MSI again',
};

test('the healthy minimal backend passes every case (through the same wrapper)', async () => {
  expect(await failures(brokenFactory('healthy', {}))).toEqual([]);
});

test('a healthy backend that replaces its events passes every case, the replacement case included', async () => {
  const results = await runIrqFdConformance(replacingFactory('replacing', {}));
  expect(results.filter((r) => !r.passed && r.skipped === undefined)).toEqual([]);
  expect(results.find((r) => r.name === REPLACEMENT_CASE)).toMatchObject({ passed: true });
});

test('a healthy x2APIC backend passes the x2apic case', async () => {
  const results = await runIrqFdConformance(brokenFactory('x2apic', { backend: X2APIC_BACKEND, supports: { x2apic: true } }));
  expect(results.filter((r) => !r.passed && r.skipped === undefined)).toEqual([]);
  expect(results.find((r) => r.name === X2APIC_CASE)).toMatchObject({ passed: true });
  for (const name of Object.values(X2APIC)) expect(results.find((r) => r.name === name)).toMatchObject({ passed: true });
});

test('a healthy overflow backend passes every case, each overflow case run (not skipped); with a waiter thread too', async () => {
  for (const waiterThread of [false, true]) {
    const results = await runIrqFdConformance(overflowFactory('overflow', {}, waiterThread));
    expect(results.filter((r) => !r.passed && r.skipped === undefined)).toEqual([]);
    for (const name of Object.values(OVERFLOW)) expect(results.find((r) => r.name === name)).toMatchObject({ passed: true });
    expect(results.find((r) => r.name === MEDIATION_CASE)?.skipped).toMatch(/supports.overflow is true/);
  }
});

test('cases that do not apply are reported skipped with a reason, never passed', async () => {
  const results = await runIrqFdConformance(brokenFactory('healthy', {}));
  const skipped = results.filter((r) => r.skipped !== undefined);
  expect(skipped.map((r) => r.name)).toEqual(expect.arrayContaining([REPLACEMENT_CASE, X2APIC_CASE, ...Object.values(OVERFLOW)]));
  expect(results.find((r) => r.name === MEDIATION_CASE)).toMatchObject({ passed: true });
  for (const r of skipped) {
    expect(r.passed).toBe(false);
    expect(r.skipped).toMatch(/not (applicable|declared)|no .* API/);
  }
});

test('defineIrqFdConformance registers the cases that do not apply with it.skip, the reason in the name', () => {
  const registered: Array<[string, string]> = [];
  const it = Object.assign((n: string) => registered.push(['run', n]), { skip: (n: string) => registered.push(['skip', n]) });
  let describeName = '';
  const describe = (n: string, fn: () => void) => {
    describeName = n;
    fn();
  };
  // Declares nothing: the describe name must say what was derived and what was assumed.
  defineIrqFdConformanceFor(brokenFactory("undeclared", {}), { api: { describe, it } });
  expect(describeName).toMatch(/derived from capabilities, not declared: stableEvent=true.*assumed, neither declared nor derived: overflow=false/);
  expect(registered).toContainEqual(['skip', `${REPLACEMENT_CASE} [skipped: not applicable: stableEvent is true (routes never replace their event)]`]);
  expect(registered.filter(([k]) => k === 'run').length).toBeGreaterThan(15);
});

const replacementBreakages: Array<[string, ReplacingBreakage]> = [
  ['replaces the event without telling the listener', { silent: true }],
  ['drops a signal latched across the replacement', { loseLatched: true }],
  ['leaves the old event delivering', { keepOld: true }],
  ['declares stableEvent false but never replaces', { never: true }],
];

test.each(replacementBreakages)('the suite catches a replacing backend that %s', async (_what, broken) => {
  expect(await failures(replacingFactory('broken replacing', broken))).toContain(REPLACEMENT_CASE);
});

const overflowBreakages: Array<[string, OverflowBreakage, string[]]> = [
  ['reports kernel for a relayed route', { reportsKernel: true }, [OVERFLOW.split]],
  ['delivers relayed routes to a stale message (the one they overflowed with)', { staleMessage: true }, [OVERFLOW.delivery]],
  ['never moves a relayed route to a freed kernel route', { neverPromote: true }, [OVERFLOW.dispose, OVERFLOW.clearMsi]],
  ['drops a signal in flight when a relayed route moves to the kernel', { dropInFlightAtPromotion: true }, [OVERFLOW.dispose, OVERFLOW.clearMsi]],
  ['delivers a signal in flight twice when a relayed route moves to the kernel', { doubleAtPromotion: true }, [OVERFLOW.dispose, OVERFLOW.clearMsi]],
  ['keeps relaying a masked route', { relayIgnoresMask: true }, [OVERFLOW.masking]],
];

test.each(overflowBreakages)('the suite catches an overflow backend that %s', async (_what, broken, expectedCases) => {
  const failed = await failures(overflowFactory('broken overflow', broken));
  expect(failed).toEqual(expect.arrayContaining(expectedCases));
});

test('a signal delivered twice at the move is caught only by the look before settle (not with a waiter thread)', async () => {
  expect(await failures(overflowFactory('double, waiter thread', { doubleAtPromotion: true }, true))).toEqual([]);
});

const cases: Array<[string, Breakage, string]> = [
  ['declares a routing table it does not have', { supports: { routingTable: true } }, MANIFEST_CASE],
  ['declares x2APIC but its capabilities say no', { supports: { x2apic: true } }, MANIFEST_CASE],
  ['drops the upper address of x2APIC messages', { backend: { ...X2APIC_BACKEND, dropAddressHi: true }, supports: { x2apic: true } }, X2APIC_CASE],
  ['truncates x2APIC destinations to 8 bits (so retargets to a high APIC ID land low)', { backend: { ...X2APIC_BACKEND, dropAddressHi: true }, supports: { x2apic: true } }, X2APIC.retarget],
  [
    'ignores the extended destination ID bits of a route (the hypervisor never sees them)',
    { backend: X2APIC_BACKEND, supports: { x2apic: true }, route: { setMsi: (r, a, d) => r.setMsi(BigInt(a) & ~0xfe0n, d) } },
    X2APIC.extended,
  ],
  ['takes 0xFF as a broadcast with 32-bit IDs', { backend: { ...X2APIC_BACKEND, apicIds: [0, 1, 0xff, 0x1234], broadcastQuirk: true }, supports: { x2apic: true } }, X2APIC.broadcast],
  ['accepts destinations above its maxApicId', { backend: { ...X2APIC_BACKEND, noLimit: true }, supports: { x2apic: true } }, X2APIC.limits],
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
  ['declares overflow without a kernel route limit (no maxKernelRoutes)', { supports: { overflow: true } }, MANIFEST_CASE],
  ['declares overflow without a kernel route limit (the overflow cases cannot fill it)', { supports: { overflow: true } }, OVERFLOW.split],
  ['routes report a mediation other than the irqfd’s', { route: { mediation: () => 'kernel' } }, MEDIATION_CASE],
  ['routes have no mediation (written before it was in the contract)', { route: { mediation: () => undefined } }, MEDIATION_CASE],
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
