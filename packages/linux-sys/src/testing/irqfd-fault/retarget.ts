/**
 * Coalesced retargets (`retargetWindowMs`): a guest moving live vectors between vCPUs one at a time
 * (mask, rewrite the entry, unmask, as Linux does for irqbalance or CPU hot-unplug) costs one
 * routing commit per window instead of one per vector, and every signal raised meanwhile is
 * delivered exactly once, to the message the vector has when it is raised. Delivery is read after
 * `settle()`, so the checks hold where the overflow relay's worker thread injects (a device) as
 * where it injects inside the signal (a model).
 */
import { EINVAL } from '../../errno';
import { type IrqFdFaultAdapter, Rig, type Target, type Tracked, dispose, mask, setMsi, unmask } from './harness';
import { runner } from './runner';
import { T } from './shapes';

/** Long enough that a test's storm always fits in one window: the test commits it itself. */
const LONG_WINDOW_MS = 1000;
/** Short enough to wait for in a test. */
const SHORT_WINDOW_MS = 20;
/** How long a test waits for the window's own commit before calling it missing. */
const WAIT_LIMIT_MS = 2000;

/** Where route `route` points in round `round`: the vCPUs alternate, and every (route, round) has a vector of its own. */
function moved(route: number, round: number): Target {
  return { vcpu: (route + round) % 2, vector: 0x30 + ((route * 2 + round) % 0xc0) };
}

async function signalAndExpect(rig: Rig, t: Tracked, target: Target, where: string): Promise<void> {
  const { expect } = runner();
  t.route.event.signal();
  await rig.irqfd.settle();
  expect({ where, route: t.name, irr: rig.takeIrr() }).toEqual({ where, route: t.name, irr: [[target.vcpu, target.vector]] });
}

/** The retarget cases on `adapter`'s kernel (call inside a `describe`). */
export function irqFdRetargetTests(adapter: IrqFdFaultAdapter): void {
  const { it } = runner();

  it('off by default: a one-by-one retarget of N live vectors costs N commits', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter);
    const routes = live(rig, 8);
    const before = rig.irqfd.commitCount;
    for (const [i, t] of routes.entries()) retarget(t, moved(i, 1));
    expect(rig.irqfd.commitCount - before).toBe(8);
    await rig.irqfd.settle();
    rig.checkAll('after the storm');
  });

  it('a storm of 64 one-by-one retargets costs one commit; every signal lands once on the message it was raised under', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const routes = live(rig, 64);
    const before = rig.irqfd.commitCount;
    for (const [i, t] of routes.entries()) {
      retarget(t, moved(i, 1));
      // Delivered from user space with its new message until the window's commit.
      expect({ route: t.name, mediation: t.route.mediation, assigned: t.route.assigned }).toEqual({ route: t.name, mediation: 'emulated', assigned: false });
      await signalAndExpect(rig, t, moved(i, 1), 'during the window');
    }
    expect({ commits: rig.irqfd.commitCount - before, waiting: rig.irqfd.coalescingCount }).toEqual({ commits: 0, waiting: 64 });
    rig.checkAll('during the window');
    rig.irqfd.flushRetargets();
    expect({ commits: rig.irqfd.commitCount - before, waiting: rig.irqfd.coalescingCount }).toEqual({ commits: 1, waiting: 0 });
    for (const [i, t] of routes.entries()) {
      expect({ route: t.name, mediation: t.route.mediation, assigned: t.route.assigned, fault: t.route.fault }).toEqual({ route: t.name, mediation: 'kernel', assigned: true, fault: undefined });
      await signalAndExpect(rig, t, moved(i, 1), 'after the commit');
    }
    rig.checkAll('after the commit');
    rig.converge('after the commit');
  });

  it('a signal raised while a retarget is masked latches and is delivered once, to the new message, at unmask', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const [a] = live(rig, 1);
    mask(a!);
    setMsi(a!, moved(0, 1));
    a!.route.event.signal();
    await rig.irqfd.settle();
    expect(rig.takeIrr()).toEqual([]);
    unmask(a!);
    await rig.irqfd.settle();
    expect(rig.takeIrr()).toEqual([[moved(0, 1).vcpu, moved(0, 1).vector]]);
    expect(a!.route.consumePending()).toBe(false);
    rig.irqfd.flushRetargets();
    await signalAndExpect(rig, a!, moved(0, 1), 'after the commit');
  });

  it('a retarget while unmasked stops the old message at once; the next signal goes to the new one', async () => {
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const [a] = live(rig, 1);
    setMsi(a!, moved(0, 1));
    await signalAndExpect(rig, a!, moved(0, 1), 'in the window');
    rig.irqfd.flushRetargets();
    await signalAndExpect(rig, a!, moved(0, 1), 'after the commit');
  });

  it('the window commits by itself, within its bound', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: SHORT_WINDOW_MS });
    const routes = live(rig, 4);
    const before = rig.irqfd.commitCount;
    for (const [i, t] of routes.entries()) retarget(t, moved(i, 1));
    const until = Date.now() + WAIT_LIMIT_MS;
    while (rig.irqfd.coalescingCount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect({ waiting: rig.irqfd.coalescingCount, commits: rig.irqfd.commitCount - before }).toEqual({ waiting: 0, commits: 1 });
    for (const [i, t] of routes.entries()) await signalAndExpect(rig, t, moved(i, 1), 'after the window');
  });

  it('a change that is not a retarget commits at once, with the retargets waiting', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const [a] = live(rig, 1);
    retarget(a!, moved(0, 1));
    const before = rig.irqfd.commitCount;
    const b = rig.add('B');
    setMsi(b, T(5, 0)); // a first MSI: a new GSI, committed now
    expect({ commits: rig.irqfd.commitCount - before, waiting: rig.irqfd.coalescingCount, aAssigned: a!.route.assigned }).toEqual({ commits: 1, waiting: 0, aAssigned: true });
    await signalAndExpect(rig, a!, moved(0, 1), 'after the other change');
    rig.checkAll('after the other change');
  });

  it('a route disposed during the window, or whose event is, leaves it; the others and new routes keep their own messages', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const [a, b, c] = live(rig, 3);
    for (const [i, t] of [a!, b!, c!].entries()) retarget(t, moved(i, 1));
    dispose(b!);
    c!.route.event.dispose();
    dispose(c!);
    expect(rig.irqfd.coalescingCount).toBe(1);
    // The others go on: a change now, and the window's commit, touch only live routes.
    mask(a!);
    unmask(a!);
    await signalAndExpect(rig, a!, moved(0, 1), 'after the disposals');
    const d = rig.add('D');
    setMsi(d, moved(3, 0));
    unmask(d);
    await signalAndExpect(rig, d, moved(3, 0), 'a route made after the disposals');
    rig.irqfd.flushRetargets();
    expect(rig.irqfd.coalescingCount).toBe(0);
    await signalAndExpect(rig, a!, moved(0, 1), 'after the commit');
    rig.checkAll('after the commit');
    rig.converge('after the commit');
  });

  it('a refused window commit leaves the retargets delivering from user space; the next one moves them', async () => {
    const { expect } = runner();
    using rig = new Rig(adapter, { retargetWindowMs: LONG_WINDOW_MS });
    const routes = live(rig, 3);
    for (const [i, t] of routes.entries()) retarget(t, moved(i, 1));
    rig.sys.fail(adapter.routingCall, EINVAL, { times: 2 }); // the commit and its rollback
    let thrown: unknown;
    try {
      rig.irqfd.flushRetargets();
    } catch (e) {
      thrown = e;
    }
    rig.sys.clearFaults();
    expect({ code: (thrown as { code?: string } | undefined)?.code, waiting: rig.irqfd.coalescingCount }).toEqual({ code: 'SYSCALL', waiting: 3 });
    for (const [i, t] of routes.entries()) {
      expect({ route: t.name, fault: t.route.fault }).toEqual({ route: t.name, fault: undefined });
      await signalAndExpect(rig, t, moved(i, 1), 'after the refusal');
    }
    rig.checkAll('after the refusal');
    rig.irqfd.flushRetargets();
    expect(rig.irqfd.coalescingCount).toBe(0);
    for (const [i, t] of routes.entries()) await signalAndExpect(rig, t, moved(i, 1), 'after the next commit');
    rig.converge('after the next commit');
  });
}

/** `n` routes programmed, unmasked and delivering on their own GSIs, in one batch. */
function live(rig: Rig, n: number): Tracked[] {
  const routes = Array.from({ length: n }, (_, i) => rig.add(`R${i}`));
  rig.irqfd.batch(() => {
    routes.forEach((t, i) => {
      setMsi(t, moved(i, 0));
      unmask(t);
    });
  });
  return routes;
}

/** What a Linux guest does to move one vector: mask, rewrite the entry, unmask (three route calls). */
function retarget(t: Tracked, to: Target): void {
  mask(t);
  setMsi(t, to);
  unmask(t);
}
