/**
 * Running out of descriptors (EMFILE) or kernel memory (ENOMEM) at each system call of creation in
 * turn: `KvmPartition.create` in kernel and relay mode, `newIrqFdRoute` (eventfd, dup), and the
 * overflow relay started by the first route that finds no free GSI. Each attempt must be a typed
 * VirtError from the call that needed the resource, with the errno kept, and leave nothing open
 * (the model's descriptors and the process's real ones); what creation returns must work, and
 * disposing it must not block.
 *
 * The relay needs real epoll and a real worker thread, so relay mode runs on HybridSyscalls: real
 * eventfds, epoll and threads, the KVM model for /dev/kvm, VMs and vCPUs.
 */
import { readdirSync } from 'node:fs';
import { type VirtError, encodeMsi, isVirtError } from '@tsvmm/virt';
import { EMFILE, ENOMEM, epollRelayPlatform } from '@tsvmm/linux-sys';
import { FaultInjector, REC_COUNT, REC_DATA, REC_WORDS, type SyscallRecord, recordingInjectorSpec } from '@tsvmm/linux-sys/testing';
import { KvmPartition, type KvmIrqFd } from '../../src';
import { LEGACY_ROUTES } from '../../src/gsi-routing';
import { KvmKernelModel, modelRelayPlatform } from '../../src/testing';
import { HybridSyscalls } from './hybrid-syscalls';
import { thrownBy } from '@tsvmm/virt/testing';

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

const realFds = (): number => readdirSync('/proc/self/fd').length;
/**
 * Node releases a stopped worker's own descriptors asynchronously: wait until the count is back to
 * `baseline` (or below it: a worker of an earlier test in this process may still be letting go of
 * its own), and return `baseline` then, the count otherwise (a leak).
 */
async function realFdsBackTo(baseline: number): Promise<number> {
  for (let i = 0; i < 500 && realFds() > baseline; i++) await new Promise((r) => setTimeout(r, 10));
  return Math.max(realFds(), baseline);
}

const A = encodeMsi({ destinationId: 0, vector: 0x41 });
const B = encodeMsi({ destinationId: 1, vector: 0x52 });

function irrOf(p: KvmPartition): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let v = 0; v < p.vcpuCount; v++) {
    for (const vec of p.readLocalApic(v).irr) out.push([v, vec]);
    p.clearIrr(v);
  }
  return out;
}

/** Every step of `probe`'s creation with every errno it can give, run by `attempt` on a fresh setup. */
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

describe('KvmPartition.create, kernel irqfd: EMFILE or ENOMEM at each system call (KVM model)', () => {
  it('throws a typed error naming the call, keeps the errno, leaves nothing open; else the partition works', () => {
    const probeModel = new KvmKernelModel({ apicIds: [0, 1, 2] });
    const probe = new FaultInjector(probeModel);
    KvmPartition.create({ vcpus: 3, irqfd: 'kernel', sys: probe }).dispose();
    const log = probe.log.filter((r) => r.call !== 'close');
    const attempts = eachStep(log, (step, errno, label) => {
      const model = new KvmKernelModel({ apicIds: [0, 1, 2] });
      const sys = new FaultInjector(model).failStep(step, errno);
      const what = `step ${step + 1} (${label}) failing with ${errno}`;
      const e = thrownBy(() => KvmPartition.create({ vcpus: 3, irqfd: 'kernel', sys, overflow: modelRelayPlatform(model) }).dispose());
      expectTyped(what, e, errno, label);
      expect({ what, open: model.openFds }).toEqual({ what, open: 0 });
    });
    // open, KVM_CREATE_VM and 3 KVM_CREATE_VCPU can run out of descriptors; they and the irqchip and LAPIC calls, of memory.
    expect(attempts).toBe(5 + 5 + 1 + 3 * 2);
    // Nothing failing: the partition works (a route delivers) and closes everything.
    const model = new KvmKernelModel({ apicIds: [0, 1, 2] });
    const p = KvmPartition.create({ vcpus: 3, irqfd: 'kernel', sys: model, overflow: modelRelayPlatform(model) });
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    r.event.signal();
    expect(irrOf(p)).toEqual([[0, 0x41]]);
    p.dispose();
    expect(model.openFds).toBe(0);
  });
});

describe('KvmPartition.create, relay mode: EMFILE or ENOMEM at each system call (real epoll and worker, KVM model)', () => {
  it('throws a typed error naming the call, keeps the errno, leaves nothing open (model or process); dispose does not block', async () => {
    const baseline = realFds();
    const probeSys = new FaultInjector(new HybridSyscalls(new KvmKernelModel()));
    const probe = KvmPartition.create({ vcpus: 2, irqfd: 'relay', sys: probeSys });
    const log = probeSys.log.filter((r) => r.call !== 'close');
    probe.dispose();
    await probe.whenClosed();
    expect(await realFdsBackTo(baseline)).toBe(baseline);
    // The relay's own creation is among the steps: its epoll set and control eventfd.
    expect(log.map((r) => r.label)).toEqual(expect.arrayContaining(['epoll_create1', 'eventfd', 'epoll_ctl']));
    let attempts = 0;
    for (const [step, r] of log.entries()) {
      for (const errno of errnosFor(r)) {
        const model = new KvmKernelModel();
        const sys = new FaultInjector(new HybridSyscalls(model)).failStep(step, errno);
        const what = `step ${step + 1} (${r.label}) failing with ${errno}`;
        const e = thrownBy(() => KvmPartition.create({ vcpus: 2, irqfd: 'relay', sys }).dispose());
        expectTyped(what, e, errno, r.label);
        expect({ what, model: model.openFds }).toEqual({ what, model: 0 });
        expect({ what, process: await realFdsBackTo(baseline) }).toEqual({ what, process: baseline });
        attempts++;
      }
    }
    expect(attempts).toBeGreaterThan(8);
    // Nothing failing: a relay-mode partition works on the main thread, and dispose stops the worker at once.
    const model = new KvmKernelModel();
    const p = KvmPartition.create({ vcpus: 2, irqfd: 'relay', sys: new HybridSyscalls(model) });
    expect(p.capabilities.irqfd).toBe('emulated');
    expect(p.requestMsi(B.addressLo, B.data)).toBe(true);
    expect(irrOf(p)).toEqual([[1, 0x52]]);
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    const t0 = performance.now();
    p.dispose();
    expect(performance.now() - t0).toBeLessThan(1000);
    await p.whenClosed();
    expect(model.openFds).toBe(0);
    expect(await realFdsBackTo(baseline)).toBe(baseline);
  });
});

describe('newIrqFdRoute: EMFILE or ENOMEM at each system call (KVM model)', () => {
  it('throws a typed error, keeps the errno, leaves no descriptor and no slot behind', () => {
    const model = new KvmKernelModel();
    const sys = new FaultInjector(model);
    using p = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys, maxRoutes: 2, overflow: modelRelayPlatform(model) });
    const irqfd = p.irqfd() as KvmIrqFd;
    const mark = sys.mark();
    irqfd.newIrqFdRoute().dispose();
    const steps = sys.callsSince(mark).filter((r) => r.label === 'eventfd' || r.label === 'dup');
    expect(steps.map((r) => r.label)).toEqual(['eventfd', 'dup']);
    const fds = model.openFds;
    const attempts = eachStep(steps, (step, errno, label) => {
      const what = `step ${step + 1} (${label}) failing with ${errno}`;
      sys.failStep(step, errno);
      expectTyped(what, thrownBy(() => irqfd.newIrqFdRoute()), errno, label);
      sys.clearFaults();
      expect({ what, open: model.openFds, routes: irqfd.routeCount }).toEqual({ what, open: fds, routes: 0 });
    });
    expect(attempts).toBe(4); // each: EMFILE, and ENOMEM (growing the descriptor table allocates)
    // Every slot is still free: both routes of maxRoutes 2 can be made, and they deliver.
    const routes = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
    routes[0]!.setMsi(A.addressLo, A.data);
    routes[0]!.unmask();
    routes[0]!.event.signal();
    expect(irrOf(p)).toEqual([[0, 0x41]]);
  });
});

describe('the overflow relay, started by the first route that finds no GSI: EMFILE or ENOMEM at each of its system calls', () => {
  it('the arming call throws a typed error, the route stays as it was, nothing is left open; then it starts and delivers', async () => {
    const baseline = realFds();
    // One GSI: A takes it (masked, so no irqfd is assigned); B must be relayed.
    const routingEntries = LEGACY_ROUTES.length + 1;
    const setup = (sys: FaultInjector, shared: SharedArrayBuffer) => {
      const p = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys, routingEntries, overflow: epollRelayPlatform({ sys, injector: recordingInjectorSpec(shared) }) });
      const irqfd = p.irqfd() as KvmIrqFd;
      const a = irqfd.newIrqFdRoute();
      a.setMsi(A.addressLo, A.data);
      const b = irqfd.newIrqFdRoute();
      b.setMsi(B.addressLo, B.data);
      return { p, irqfd, b };
    };
    const probeSys = new FaultInjector(new HybridSyscalls(new KvmKernelModel()));
    const probe = setup(probeSys, new SharedArrayBuffer(REC_WORDS * 4));
    const mark = probeSys.mark();
    probe.b.unmask();
    const steps = probeSys.callsSince(mark).filter((r) => r.call !== 'close');
    expect(probe.b.mediation).toBe('emulated');
    probe.p.dispose();
    await probe.p.whenClosed();
    expect(steps.map((r) => r.label)).toEqual(expect.arrayContaining(['epoll_create1', 'eventfd', 'epoll_ctl']));
    let attempts = 0;
    for (const [step, r] of steps.entries()) {
      for (const errno of errnosFor(r)) {
        const model = new KvmKernelModel();
        const sys = new FaultInjector(new HybridSyscalls(model));
        const shared = new SharedArrayBuffer(REC_WORDS * 4);
        const start = realFds();
        const { p, irqfd, b } = setup(sys, shared);
        try {
          const what = `step ${step + 1} (${r.label}) failing with ${errno}`;
          const before = realFds();
          sys.failStep(step, errno);
          expectTyped(what, thrownBy(() => b.unmask()), errno, r.label);
          sys.clearFaults();
          expect({ what, masked: b.masked, fault: b.fault, msi: b.msi }).toEqual({ what, masked: true, fault: undefined, msi: B });
          // A relay that failed to start left nothing open; one that started (its watch of B failed)
          // stays for the partition's later overflow routes, until the partition goes.
          if (!irqfd.overflow.started) expect({ what, process: await realFdsBackTo(before) }).toEqual({ what, process: before });
          else expect({ what, started: r.label }).toEqual({ what, started: 'epoll_ctl' });
          // The next attempt starts the relay: what latched meanwhile is delivered at once (on this
          // thread, KVM_SIGNAL_MSI), a new signal by the relay's worker (its recording injector).
          b.event.signal();
          b.unmask();
          expect({ what, latched: irrOf(p) }).toEqual({ what, latched: [[1, 0x52]] });
          b.event.signal();
          await irqfd.settle();
          expect({ what, delivered: Atomics.load(new Int32Array(shared), REC_COUNT), data: new Int32Array(shared)[REC_DATA] }).toEqual({ what, delivered: 1, data: B.data });
          const t0 = performance.now();
          p.dispose();
          expect({ what, disposeMs: performance.now() - t0 < 1000 }).toEqual({ what, disposeMs: true });
          await p.whenClosed();
          expect({ what, model: model.openFds, process: await realFdsBackTo(start) }).toEqual({ what, model: 0, process: start });
          attempts++;
        } finally {
          p.dispose();
        }
      }
    }
    expect(attempts).toBeGreaterThan(3);
    expect(await realFdsBackTo(baseline)).toBe(baseline);
  });
});
