/**
 * Running out of descriptors (EMFILE) or kernel memory (ENOMEM) at each system call of creation in
 * turn: `KvmPartition.create` in kernel and relay mode, `newIrqFdRoute` (eventfd, dup), and the
 * overflow relay started by the first route that finds no free GSI. Each attempt must be a typed
 * VirtError from the call that needed the resource, with the errno kept, and leave nothing open;
 * what creation returns must work, and disposing it must not block. The calls that cannot run out
 * of either, failed all the same, are typed too or count as an absent capability.
 *
 * The relay needs real epoll and a real worker thread: on the model, its eventfds and epoll are the
 * process's own (the model serves /dev/kvm, VMs and vCPUs).
 */
import { type VirtError, encodeMsi, isVirtError } from '@tsvmm/virt';
import { EMFILE, ENOMEM, epollRelayPlatform } from '@tsvmm/linux-sys';
import { FaultInjector, REC_COUNT, REC_DATA, REC_WORDS, type SyscallRecord, recordingInjectorSpec } from '@tsvmm/linux-sys/testing';
import { thrownBy } from '@tsvmm/virt/testing';
import type { KvmIrqFd } from '../src';
import { LEGACY_ROUTES } from '../src/gsi-routing';
import { type KvmTarget, describeOnTargets } from './support/targets';

/** Calls that create a descriptor, so can fail with EMFILE. */
const MAKES_FD = new Set(['open', 'KVM_CREATE_VM', 'KVM_CREATE_VCPU', 'eventfd', 'dup', 'epoll_create1']);
/** Calls that cannot fail for want of memory (they allocate nothing, or only release). */
const NO_ENOMEM = new Set(['close', 'kcmp', 'read', 'write', 'KVM_GET_API_VERSION', 'KVM_CHECK_EXTENSION']);

/** The errnos step `r` can really give: EMFILE where it makes a descriptor, ENOMEM where it may allocate. */
function errnosFor(r: SyscallRecord): number[] {
  return [...(MAKES_FD.has(r.label) ? [EMFILE] : []), ...(NO_ENOMEM.has(r.label) ? [] : [ENOMEM])];
}

/** How the failing call appears in the error's message. */
function callPattern(label: string): RegExp {
  if (label === 'open') return /open\(/;
  if (label === 'eventfd') return /eventfd\(\)/;
  if (label === 'dup') return /F_DUPFD_CLOEXEC/;
  if (label === 'epoll_create1') return /epoll_create1/;
  if (label === 'epoll_ctl') return /epoll_ctl/;
  return new RegExp(label);
}

function expectTyped(what: string, e: unknown, errno: number, label: string): void {
  expect({ what, typed: isVirtError(e) }).toEqual({ what, typed: true });
  const v = e as VirtError;
  expect({ what, errno: v.errno, errnoName: v.errnoName }).toEqual({ what, errno, errnoName: errno === EMFILE ? 'EMFILE' : 'ENOMEM' });
  expect({ what, names: callPattern(label).test(v.message) }).toEqual({ what, names: true });
}

/**
 * Node releases a stopped worker's own descriptors asynchronously: wait until the count is back to
 * `baseline` (or below it: a worker of an earlier test in this process may still be letting go of
 * its own), and return `baseline` then, the count otherwise (a leak).
 */
async function fdsBackTo(target: KvmTarget, baseline: number): Promise<number> {
  for (let i = 0; i < 500 && target.openFdCount() > baseline; i++) await new Promise((r) => setTimeout(r, 10));
  return Math.max(target.openFdCount(), baseline);
}

const A = encodeMsi({ destinationId: 0, vector: 0x41 });
const B = encodeMsi({ destinationId: 1, vector: 0x52 });

/** Every step of a creation's log with every errno it can give, run by `attempt` on a fresh setup. */
function eachStep(log: readonly SyscallRecord[], attempt: (step: number, errno: number, label: string) => void): number {
  let n = 0;
  log.forEach((r, step) => {
    for (const errno of errnosFor(r)) {
      attempt(step, errno, r.label);
      n++;
    }
  });
  return n;
}

describeOnTargets('KvmPartition.create, kernel irqfd: EMFILE or ENOMEM at each system call', (target) => {
  it('throws a typed error naming the call, keeps the errno, leaves nothing open; else the partition works', () => {
    const probe = target.create({ vcpus: 3 });
    const log = target.sysOf(probe).log.filter((r) => r.call !== 'close');
    probe.dispose();
    const baseline = target.openFdCount();
    const attempts = eachStep(log, (step, errno, label) => {
      const what = `step ${step + 1} (${label}) failing with ${errno}`;
      const e = thrownBy(() => target.create({ vcpus: 3, wrap: (inner) => new FaultInjector(inner).failStep(step, errno) }).dispose());
      expectTyped(what, e, errno, label);
      expect({ what, open: target.openFdCount() }).toEqual({ what, open: baseline });
    });
    // open, KVM_CREATE_VM and 3 KVM_CREATE_VCPU can run out of descriptors; they and the irqchip and LAPIC calls, of memory.
    expect(attempts).toBe(5 + 5 + 1 + 3 * 2);
    // Nothing failing: the partition works (a route delivers) and closes everything.
    const p = target.create({ vcpus: 3 });
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    r.event.signal();
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
    p.dispose();
    expect(target.openFdCount()).toBe(baseline);
  });

  it('the calls that allocate nothing, failed all the same: KVM_GET_API_VERSION is a typed error, a KVM_CHECK_EXTENSION counts as an absent capability; nothing is left open', async () => {
    // A capability counted absent may leave only the relay (its epoll, on the model the process's).
    const options = { irqfd: 'auto', processEvents: true } as const;
    const probe = target.create(options);
    const log = target.sysOf(probe).log.filter((r) => r.call !== 'close');
    probe.dispose();
    await probe.whenClosed();
    const baseline = target.openFdCount();
    const outcomes: string[] = [];
    for (const [step, r] of log.entries()) {
      if (!NO_ENOMEM.has(r.label)) continue;
      const what = `step ${step + 1} (${r.label}) failing with ENOMEM`;
      let e: unknown;
      try {
        const p = target.create({ ...options, wrap: (inner) => new FaultInjector(inner).failStep(step, ENOMEM) });
        outcomes.push(p.capabilities.irqfd);
        p.dispose();
        await p.whenClosed(); // a capability counted absent gives the relay, whose worker exits asynchronously
      } catch (err) {
        e = err;
        outcomes.push(isVirtError(err) ? err.code : String(err));
      }
      if (r.label === 'KVM_GET_API_VERSION') expectTyped(what, e, ENOMEM, r.label);
      expect({ what, open: target.openFdCount() }).toEqual({ what, open: baseline });
    }
    // KVM_CAP_IRQCHIP absent refuses the partition; KVM_CAP_IRQ_ROUTING or KVM_CAP_IRQFD absent gives the relay; the others change no mode.
    expect(outcomes.filter((o) => o !== 'kernel').sort()).toEqual(['SYSCALL', 'UNSUPPORTED', 'emulated', 'emulated']);
  });
});

describeOnTargets('KvmPartition.create, relay mode: EMFILE or ENOMEM at each system call (a real epoll and worker)', (target) => {
  // On the model too the relay's default platform runs: a real epoll set and worker on the process's own eventfds.
  it('throws a typed error naming the call, keeps the errno, leaves nothing open; dispose does not block', async () => {
    const baseline = target.openFdCount();
    const probe = target.create({ irqfd: 'relay', processEvents: true });
    const log = target.sysOf(probe).log.filter((r) => r.call !== 'close');
    probe.dispose();
    await probe.whenClosed();
    expect(await fdsBackTo(target, baseline)).toBe(baseline);
    // The relay's own creation is among the steps: its epoll set and control eventfd.
    expect(log.map((r) => r.label)).toEqual(expect.arrayContaining(['epoll_create1', 'eventfd', 'epoll_ctl']));
    let attempts = 0;
    for (const [step, r] of log.entries()) {
      for (const errno of errnosFor(r)) {
        const models = target.real ? 0 : target.modelFdCount();
        const what = `step ${step + 1} (${r.label}) failing with ${errno}`;
        const e = thrownBy(() => target.create({ irqfd: 'relay', processEvents: true, wrap: (inner) => new FaultInjector(inner).failStep(step, errno) }).dispose());
        expectTyped(what, e, errno, r.label);
        // The model's own numbers are released at once; the process's may lag (a worker letting go).
        if (!target.real) expect({ what, model: target.modelFdCount() }).toEqual({ what, model: models });
        expect({ what, process: await fdsBackTo(target, baseline) }).toEqual({ what, process: baseline });
        attempts++;
      }
    }
    expect(attempts).toBeGreaterThan(8);
    // Nothing failing: a relay-mode partition works on the main thread, and dispose stops the worker at once.
    const models = target.real ? 0 : target.modelFdCount();
    const p = target.create({ irqfd: 'relay', processEvents: true });
    expect(p.capabilities.irqfd).toBe('emulated');
    expect(p.requestMsi(B.addressLo, B.data)).toBe(true);
    expect(target.takeIrr(p)).toEqual([[1, 0x52]]);
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    const t0 = performance.now();
    p.dispose();
    expect(performance.now() - t0).toBeLessThan(1000);
    await p.whenClosed();
    if (!target.real) expect(target.modelFdCount()).toBe(models);
    expect(await fdsBackTo(target, baseline)).toBe(baseline);
  });
});

describeOnTargets('newIrqFdRoute: EMFILE or ENOMEM at each system call', (target) => {
  it('throws a typed error, keeps the errno, leaves no descriptor and no slot behind', () => {
    using p = target.create({ maxRoutes: 2 });
    const sys = target.sysOf(p);
    const irqfd = p.irqfd() as KvmIrqFd;
    const mark = sys.mark();
    irqfd.newIrqFdRoute().dispose();
    const steps = sys.callsSince(mark).filter((r) => r.label === 'eventfd' || r.label === 'dup');
    expect(steps.map((r) => r.label)).toEqual(['eventfd', 'dup']);
    const fds = target.openFdCount();
    const attempts = eachStep(steps, (step, errno, label) => {
      const what = `step ${step + 1} (${label}) failing with ${errno}`;
      sys.failStep(step, errno);
      expectTyped(what, thrownBy(() => irqfd.newIrqFdRoute()), errno, label);
      sys.clearFaults();
      expect({ what, open: target.openFdCount(), routes: irqfd.routeCount }).toEqual({ what, open: fds, routes: 0 });
    });
    expect(attempts).toBe(4); // each: EMFILE, and ENOMEM (growing the descriptor table allocates)
    // Every slot is still free: both routes of maxRoutes 2 can be made, and they deliver.
    const routes = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
    routes[0]!.setMsi(A.addressLo, A.data);
    routes[0]!.unmask();
    routes[0]!.event.signal();
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
  });
});

describeOnTargets('the overflow relay, started by the first route that finds no GSI: EMFILE or ENOMEM at each of its system calls', (target) => {
  it('the arming call throws a typed error, the route stays as it was, nothing is left open; then it starts and delivers', async () => {
    const baseline = target.openFdCount();
    // One GSI: A takes it (masked, so no irqfd is assigned, which lets the model use the process's
    // eventfds); B must be relayed, by an epoll worker whose injector records what it delivers.
    const setup = (shared: SharedArrayBuffer) => {
      let sys!: FaultInjector;
      const p = target.create({
        processEvents: true,
        routingEntries: LEGACY_ROUTES.length + 1,
        wrap: (inner) => (sys = new FaultInjector(inner)),
        relayPlatform: (table) => epollRelayPlatform({ sys, injector: recordingInjectorSpec(shared) })(table),
      });
      const irqfd = p.irqfd() as KvmIrqFd;
      const a = irqfd.newIrqFdRoute();
      a.setMsi(A.addressLo, A.data);
      const b = irqfd.newIrqFdRoute();
      b.setMsi(B.addressLo, B.data);
      return { p, sys, irqfd, b };
    };
    const probe = setup(new SharedArrayBuffer(REC_WORDS * 4));
    const mark = probe.sys.mark();
    probe.b.unmask();
    const steps = probe.sys.callsSince(mark).filter((r) => r.call !== 'close');
    expect(probe.b.mediation).toBe('emulated');
    probe.p.dispose();
    await probe.p.whenClosed();
    expect(steps.map((r) => r.label)).toEqual(expect.arrayContaining(['epoll_create1', 'eventfd', 'epoll_ctl']));
    let attempts = 0;
    for (const [step, r] of steps.entries()) {
      for (const errno of errnosFor(r)) {
        const shared = new SharedArrayBuffer(REC_WORDS * 4);
        const start = target.openFdCount();
        const models = target.real ? 0 : target.modelFdCount();
        const { p, sys, irqfd, b } = setup(shared);
        try {
          const what = `step ${step + 1} (${r.label}) failing with ${errno}`;
          const before = target.openFdCount();
          sys.failStep(step, errno);
          expectTyped(what, thrownBy(() => b.unmask()), errno, r.label);
          sys.clearFaults();
          expect({ what, masked: b.masked, fault: b.fault, msi: b.msi }).toEqual({ what, masked: true, fault: undefined, msi: B });
          // A relay that failed to start left nothing open; one that started (its watch of B failed)
          // stays for the partition's later overflow routes, until the partition goes.
          if (!irqfd.overflow.started) expect({ what, process: await fdsBackTo(target, before) }).toEqual({ what, process: before });
          else expect({ what, started: r.label }).toEqual({ what, started: 'epoll_ctl' });
          // The next attempt starts the relay: what latched meanwhile is delivered once before
          // unmask returns, on this thread (KVM_SIGNAL_MSI, seen in IRR) or, when the new worker
          // wakes on the readable eventfd first, by the worker (its recording injector): both take
          // the slot lock, so exactly one of them delivers it. A new signal goes to the worker.
          b.event.signal();
          b.unmask();
          const recorded = (): number => Atomics.load(new Int32Array(shared), REC_COUNT);
          const onThisThread = target.takeIrr(p);
          const byWorker = recorded();
          expect({ what, latched: [...onThisThread, ...Array.from({ length: byWorker }, () => 'by the worker')] }).toEqual({
            what,
            latched: byWorker === 1 ? ['by the worker'] : [[1, 0x52]],
          });
          b.event.signal();
          await irqfd.settle();
          expect({ what, delivered: recorded() - byWorker, data: new Int32Array(shared)[REC_DATA] }).toEqual({ what, delivered: 1, data: B.data });
          const t0 = performance.now();
          p.dispose();
          expect({ what, disposeMs: performance.now() - t0 < 1000 }).toEqual({ what, disposeMs: true });
          await p.whenClosed();
          if (!target.real) expect({ what, model: target.modelFdCount() }).toEqual({ what, model: models });
          expect({ what, open: await fdsBackTo(target, start) }).toEqual({ what, open: start });
          attempts++;
        } finally {
          p.dispose();
        }
      }
    }
    expect(attempts).toBeGreaterThan(3);
    expect(await fdsBackTo(target, baseline)).toBe(baseline);
  });
});
