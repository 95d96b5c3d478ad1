/**
 * Per-route mediation (`route.mediation`). Without overflow, every route reports the irqfd's
 * mediation for its whole life. With overflow (`supports.overflow`: fewer kernel routes than
 * routes), the first `capabilities.maxKernelRoutes` routes to get an MSI are kernel-delivered and
 * the rest are relayed from user space, each delivering exactly once to its own message, masking
 * and latching like any route; a kernel route freed by `dispose` or `clearMsi` moves one relayed
 * route to the kernel, and a signal raised just before the move is delivered once.
 *
 * "Exactly once" is checked in two looks: what landed by the time the call returned, then what
 * landed after `settle()`. A signal delivered once in each look (by the call and again by a waiter
 * that reached it later) fails; two injections inside one look coalesce in IRR, as on hardware.
 * Where the subject has a `waiterThread`, the first look follows a `settle()` too (it would race
 * the waiter), so only a repeat after that is caught there.
 */
import type { IrqFdMediation } from '../../contract/capabilities';
import type { IrqFdRoute } from '../../contract/irqfd';
import { check, checkEqual } from '../check';
import type { CaseContext, ConformanceCase } from './context';

/** Most kernel routes the overflow cases fill: each case makes that many routes, plus {@link EXTRA}. */
export const OVERFLOW_KERNEL_ROUTE_LIMIT = 64;
/** Routes beyond the kernel limit in each overflow case. */
const EXTRA = 3;

type Target = readonly [vcpu: number, vector: number];

/** Route i's target: distinct for every i the cases use (vCPUs 0 and 1, vectors from 0x30). */
const targetOf = (i: number): Target => [i % 2, 0x30 + Math.floor(i / 2)];
/** Targets no route of {@link targetOf} uses, for retargets and re-programmed routes. */
const SPARE: readonly Target[] = [
  [1, 0xe0],
  [0, 0xe1],
  [1, 0xe2],
];

const show = ([c, v]: Target) => `vCPU ${c} vector 0x${v.toString(16)}`;

/** Everything that landed since the last look, per (vCPU, vector), without settling. */
function look(ctx: CaseContext): Set<string> {
  const got = new Set<string>();
  for (let c = 0; c < ctx.subject.partition.vcpuCount; c++) for (const v of ctx.subject.observer.take(c)) got.add(show([c, v]));
  return got;
}

/**
 * Checks that exactly `expected` landed, each once: what landed by now, then what landed after
 * settle(); a target seen in both looks was delivered twice.
 */
async function expectOnce(ctx: CaseContext, expected: readonly Target[], what: string): Promise<void> {
  if (ctx.subject.waiterThread === true) await ctx.subject.settle();
  const now = look(ctx);
  await ctx.subject.settle();
  const later = look(ctx);
  const twice = [...now].filter((t) => later.has(t));
  check(twice.length === 0, `${what}: delivered twice (once by the call, again after settle): ${twice.join(', ')}`);
  checkEqual([...new Set([...now, ...later])].sort(), [...new Set(expected.map(show))].sort(), `deliveries (${what})`);
}

/** The kernel route limit the overflow cases fill; fails unless it makes overflow reachable and small. */
function kernelLimit({ irqfd }: CaseContext): number {
  const k = irqfd.capabilities.maxKernelRoutes;
  check(
    typeof k === 'number' && Number.isInteger(k) && k >= 1,
    `supports.overflow is declared, but irqfd.capabilities.maxKernelRoutes is ${String(k)}: it must be the number of kernel routes`,
  );
  check(
    k <= OVERFLOW_KERNEL_ROUTE_LIMIT,
    `the overflow cases need a subject with at most ${OVERFLOW_KERNEL_ROUTE_LIMIT} kernel routes (capabilities.maxKernelRoutes is ${k}): create its partition with a small kernel route limit`,
  );
  check(k + EXTRA <= irqfd.capabilities.maxRoutes, `the overflow cases need maxRoutes >= maxKernelRoutes + ${EXTRA}, got ${irqfd.capabilities.maxRoutes} and ${k}`);
  return k;
}

interface Filled {
  readonly k: number;
  readonly routes: IrqFdRoute[];
  readonly targets: Target[];
}

/** maxKernelRoutes + EXTRA routes, each given its own target in order, one call at a time, then unmasked. */
function fill(ctx: CaseContext): Filled {
  const k = kernelLimit(ctx);
  const routes: IrqFdRoute[] = [];
  const targets: Target[] = [];
  for (let i = 0; i < k + EXTRA; i++) {
    const t = targetOf(i);
    const r = ctx.irqfd.newIrqFdRoute();
    const m = ctx.msiFor(t[0], t[1]);
    r.setMsi(m.address, m.data);
    routes.push(r);
    targets.push(t);
  }
  for (const r of routes) r.unmask();
  return { k, routes, targets };
}

/** The mediation of each route, checked against `expected` (one per route). */
function expectMediation(routes: readonly IrqFdRoute[], expected: readonly IrqFdMediation[], what: string): void {
  checkEqual(
    routes.map((r) => r.mediation),
    expected,
    `route.mediation of each route (${what})`,
  );
}

const kernelCount = (routes: readonly IrqFdRoute[]) => routes.filter((r) => !r.disposed && r.mediation === 'kernel').length;

/** Frees one kernel route with `free`, then checks the move and that in-flight signals land once. */
async function moveCase(ctx: CaseContext, free: (r: IrqFdRoute) => void, freed: string): Promise<{ filled: Filled; moved: IrqFdRoute }> {
  const filled = fill(ctx);
  const { k, routes, targets } = filled;
  const relayed = routes.slice(k);
  expectMediation(relayed, relayed.map(() => 'emulated'), 'beyond the limit, before the move');
  // In flight: raised on every relayed route just before the move, not waited for.
  for (const r of relayed) r.event.signal();
  free(routes[0]!);
  const moved = relayed.filter((r) => r.mediation === 'kernel');
  checkEqual(moved.length, 1, `relayed routes that moved to 'kernel' after ${freed} one kernel route`);
  checkEqual(kernelCount(routes.slice(1)), k, `kernel routes after the move (of the routes with an MSI)`);
  await expectOnce(ctx, targets.slice(k), `signals raised on the relayed routes just before ${freed} a kernel route`);
  const m = moved[0]!;
  m.event.signal();
  await expectOnce(ctx, [targets[routes.indexOf(m)]!], 'a signal on the moved route, after the move');
  for (const r of routes.slice(1)) r.event.signal();
  await expectOnce(ctx, targets.slice(1), 'a signal on every other route after the move');
  return { filled, moved: m };
}

export const overflowCases: readonly ConformanceCase[] = [
  {
    name: 'route.mediation: every route reports the irqfd’s mediation for its whole life (no overflow)',
    skipReason: (m) => (m.overflow ? 'not applicable: supports.overflow is true (the overflow cases check route.mediation)' : undefined),
    async run({ irqfd, route, msiFor, expectDeliveries }) {
      const want = irqfd.capabilities.mediation;
      const bare = irqfd.newIrqFdRoute();
      checkEqual(bare.mediation, want, 'route.mediation of a new route (no MSI, masked)');
      const r = route(0, 0x51, false);
      checkEqual(r.mediation, want, 'route.mediation with an MSI, masked');
      r.unmask();
      checkEqual(r.mediation, want, 'route.mediation armed');
      r.event.signal();
      await expectDeliveries([[0, 0x51]], 'a signal on the armed route');
      const m = msiFor(1, 0x52);
      r.setMsi(m.address, m.data);
      checkEqual(r.mediation, want, 'route.mediation after a retarget');
      r.mask();
      checkEqual(r.mediation, want, 'route.mediation masked again');
      r.clearMsi();
      checkEqual(r.mediation, want, 'route.mediation after clearMsi');
    },
  },
  {
    name: 'overflow: the first maxKernelRoutes routes to get an MSI report kernel, the rest emulated (masked or not)',
    skipReason: (m) => (m.overflow ? undefined : 'not declared: supports.overflow is false'),
    async run(ctx) {
      const { irqfd, msiFor } = ctx;
      const k = kernelLimit(ctx);
      const routes = Array.from({ length: k + EXTRA }, () => irqfd.newIrqFdRoute());
      expectMediation(
        routes,
        routes.map(() => irqfd.capabilities.mediation),
        'no route has an MSI yet: each reports capabilities.mediation',
      );
      const expected: IrqFdMediation[] = routes.map((_, i) => (i < k ? 'kernel' : 'emulated'));
      routes.forEach((r, i) => {
        const t = targetOf(i);
        const m = msiFor(t[0], t[1]);
        r.setMsi(m.address, m.data);
        expectMediation(routes.slice(0, i + 1), expected.slice(0, i + 1), `after setMsi on route ${i} (masked), the first ${k} kernel`);
      });
      for (const r of routes) r.unmask();
      expectMediation(routes, expected, 'every route unmasked');
      const retarget = routes[k]!;
      const m = msiFor(SPARE[0]![0], SPARE[0]![1]);
      retarget.setMsi(m.address, m.data);
      expectMediation(routes, expected, 'after retargeting a relayed route (it holds no kernel route still)');
    },
  },
  {
    name: 'overflow: every route, kernel or relayed, delivers each signal exactly once to its own message; a relayed retarget applies to the next signal',
    skipReason: (m) => (m.overflow ? undefined : 'not declared: supports.overflow is false'),
    async run(ctx) {
      const { k, routes, targets } = fill(ctx);
      for (const r of routes) r.event.signal();
      await expectOnce(ctx, targets, 'one signal on every route');
      for (const r of routes.slice(k)) r.event.signal();
      await expectOnce(ctx, targets.slice(k), 'a second signal on every relayed route');
      const r = routes[k + 1]!;
      // Raised before the retarget, not waited for: it belongs to the old message.
      r.event.signal();
      const t = SPARE[1]!;
      const m = ctx.msiFor(t[0], t[1]);
      r.setMsi(m.address, m.data);
      checkEqual(r.mediation, 'emulated', 'route.mediation of the retargeted relayed route');
      await expectOnce(ctx, [targets[k + 1]!], 'a signal raised just before the retarget (old message)');
      r.event.signal();
      await expectOnce(ctx, [t], 'a signal after the retarget (new message only)');
    },
  },
  {
    name: 'overflow: masking a relayed route latches (consumePending once, nothing delivered); unmask delivers a latched signal once',
    skipReason: (m) => (m.overflow ? undefined : 'not declared: supports.overflow is false'),
    async run(ctx) {
      const { k, routes, targets } = fill(ctx);
      const r = routes[k]!;
      const t = targets[k]!;
      r.mask();
      checkEqual(r.mediation, 'emulated', 'route.mediation of a masked relayed route');
      r.event.signal();
      await expectOnce(ctx, [], 'a signal on the masked relayed route');
      check(r.consumePending(), 'consumePending on the masked relayed route reports the latched signal');
      check(!r.consumePending(), 'and only once');
      r.unmask();
      await expectOnce(ctx, [], 'unmask after consumePending');
      r.mask();
      r.event.signal();
      r.event.signal();
      await expectOnce(ctx, [], 'two signals while masked');
      r.unmask();
      await expectOnce(ctx, [t], 'unmask delivers the latched signals once');
      check(!r.consumePending(), 'nothing pending after the delivery');
      // Raised while armed, then masked before a waiter reached it: delivered once, never latched.
      r.event.signal();
      r.mask();
      await expectOnce(ctx, [t], 'a signal raised just before mask');
      check(!r.consumePending(), 'a signal raised while armed is not reported as pending');
      checkEqual(kernelCount(routes), k, 'kernel routes while a relayed route is masked');
    },
  },
  {
    name: 'overflow: disposing a kernel route moves one relayed route to the kernel; signals raised just before the move land once',
    skipReason: (m) => (m.overflow ? undefined : 'not declared: supports.overflow is false'),
    async run(ctx) {
      await moveCase(ctx, (r) => r.dispose(), 'disposing');
    },
  },
  {
    name: 'overflow: clearMsi on a kernel route moves one relayed route to the kernel; the cleared route latches, and relays once given an MSI again',
    skipReason: (m) => (m.overflow ? undefined : 'not declared: supports.overflow is false'),
    async run(ctx) {
      const { filled } = await moveCase(ctx, (r) => r.clearMsi(), 'clearMsi on');
      const cleared = filled.routes[0]!;
      checkEqual(cleared.mediation, ctx.irqfd.capabilities.mediation, 'route.mediation of the route without an MSI');
      cleared.event.signal();
      await expectOnce(ctx, [], 'a signal on the route without an MSI');
      const t = SPARE[2]!;
      const m = ctx.msiFor(t[0], t[1]);
      cleared.setMsi(m.address, m.data);
      checkEqual(cleared.mediation, 'emulated', 'route.mediation once it has an MSI again, every kernel route in use');
      await expectOnce(ctx, [t], 'the latched signal, at setMsi');
      cleared.event.signal();
      await expectOnce(ctx, [t], 'a new signal on the re-programmed route');
    },
  },
];
