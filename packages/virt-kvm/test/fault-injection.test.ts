/**
 * Every system call of every route operation, failed in turn: the operation throws a typed error
 * (or, for dispose, does not throw), the in-memory routing table matches the kernel's, the route is
 * as it was, and it still behaves as it did (checked by delivery into the local APIC).
 */
import { type MsiMessage, isVirtError } from '@tsvmm/virt';
import { ENOMEM } from '@tsvmm/linux-sys';
import type { KvmIrqFd, KvmIrqFdRoute, KvmPartition } from '../src';
import { DESCRIPTORS_PER_ROUTE, describeOnTargets, msiTo } from './support/targets';

interface Target {
  readonly vcpu: number;
  readonly vector: number;
}

/** What a route looks like and does, before (and so after a failed) operation. */
interface Expect {
  readonly route: KvmIrqFdRoute;
  readonly msi: MsiMessage | undefined;
  readonly masked: boolean;
  /** Where a signal lands when armed. */
  readonly target?: Target;
  /** A signal latched before the operation (unarmed routes only). */
  readonly latched?: boolean;
  /** The operation disposes this route (a disposal cannot be undone: it stays disposed). */
  readonly disposedByOp?: boolean;
}

interface Scenario {
  readonly name: string;
  /** Builds the routes; returns what they must look like if the operation fails. */
  setup(irqfd: KvmIrqFd, p: KvmPartition): Expect[];
  /**
   * Runs the operation. A scenario that takes `armFaults` calls it where failures start to be
   * injected (a batch: after the body's immediate calls, whose own failures the single-operation
   * scenarios cover, so only the commit and the assigns after it fail).
   */
  op(irqfd: KvmIrqFd, routes: readonly KvmIrqFdRoute[], armFaults: () => void): void;
  readonly armsFaults?: boolean;
}

function route(irqfd: KvmIrqFd, t: Target | undefined, unmasked: boolean, latch = false): KvmIrqFdRoute {
  const r = irqfd.newIrqFdRoute();
  if (t) {
    const m = msiTo(t.vcpu, t.vector);
    r.setMsi(m.address, m.data);
  }
  if (latch) r.event.signal();
  if (unmasked) r.unmask();
  return r;
}

function state(r: KvmIrqFdRoute, t: Target | undefined, latched = false): Expect {
  return { route: r, msi: r.msi, masked: r.masked, ...(t ? { target: t } : {}), latched };
}

const A: Target = { vcpu: 0, vector: 0x41 };
const B: Target = { vcpu: 1, vector: 0x52 };
const set = (r: KvmIrqFdRoute, t: Target): void => {
  const m = msiTo(t.vcpu, t.vector);
  r.setMsi(m.address, m.data);
};

/** A scenario on one route, made with `before` (its target, or none; unmasked; a signal latched first) and `op` run on it. */
function oneRoute(name: string, before: { msi: Target | undefined; unmasked: boolean; latched?: boolean }, op: (r: KvmIrqFdRoute) => void): Scenario {
  const latched = before.latched ?? false;
  return {
    name,
    setup: (q) => [state(route(q, before.msi, before.unmasked, latched), before.msi, latched)],
    op: (_q, [r]) => op(r!),
  };
}

const scenarios: Scenario[] = [
  oneRoute('setMsi on a masked route (commit)', { msi: undefined, unmasked: false }, (r) => set(r, A)),
  oneRoute('setMsi on an unmasked route without MSI (commit, then assign)', { msi: undefined, unmasked: true }, (r) => set(r, A)),
  oneRoute('setMsi on an unmasked route with a latched signal (commit, consume, assign, inject)', { msi: undefined, unmasked: true, latched: true }, (r) => set(r, A)),
  oneRoute('setMsi retargeting an armed route (commit)', { msi: A, unmasked: true }, (r) => set(r, B)),
  oneRoute('clearMsi on an armed route (deassign, commit)', { msi: A, unmasked: true }, (r) => r.clearMsi()),
  oneRoute('clearMsi on a masked route (commit)', { msi: A, unmasked: false }, (r) => r.clearMsi()),
  oneRoute('mask (deassign)', { msi: A, unmasked: true }, (r) => r.mask()),
  oneRoute('unmask (consume, assign)', { msi: A, unmasked: false }, (r) => r.unmask()),
  oneRoute('unmask with a latched signal (consume, assign, inject)', { msi: A, unmasked: false, latched: true }, (r) => r.unmask()),
  oneRoute('consumePending (read)', { msi: A, unmasked: false, latched: true }, (r) => void r.consumePending()),
  {
    name: 'batch: create + program, mask, dispose, retarget, unmask; failures in its commit and the assigns after it',
    setup: (q) => {
      const rs = [route(q, A, true), route(q, B, true), route(q, B, false), route(q, A, true)];
      return rs.map((r, i) => ({ ...state(r, i === 0 || i === 3 ? A : B), disposedByOp: i === 3 }));
    },
    armsFaults: true,
    op: (q, [a, b, c, d], armFaults) =>
      q.batch(() => {
        const n = q.newIrqFdRoute();
        set(n, A);
        n.unmask();
        b!.mask();
        d!.dispose();
        set(a!, B);
        c!.unmask();
        armFaults();
      }),
  },
  {
    name: 'newIrqFdRoute (eventfd)',
    setup: () => [],
    op: (q) => void q.newIrqFdRoute(),
  },
];

describeOnTargets('fault injection at every system call of every operation', (target) => {
  for (const s of scenarios) {
    it(s.name, () => {
      // Count the operation's system calls on a clean run.
      let steps: number;
      {
        using p = target.create();
        const counter = target.sysOf(p);
        const q = p.irqfd() as KvmIrqFd;
        const exp = s.setup(q, p);
        let mark = counter.mark();
        s.op(
          q,
          exp.map((e) => e.route),
          () => (mark = counter.mark()),
        );
        steps = counter.callsSince(mark).length;
      }
      expect(steps).toBeGreaterThan(0);
      for (let step = 0; step < steps; step++) {
        using p = target.create();
        const sys = target.sysOf(p);
        const q = p.irqfd() as KvmIrqFd;
        const exp = s.setup(q, p);
        const gone = exp.filter((e) => e.disposedByOp);
        const kernelBefore = new Map(q.table.kernelRoutes());
        for (const e of gone) if (e.route.gsi !== undefined) kernelBefore.delete(e.route.gsi);
        const routeCount = q.routeCount - gone.length;
        const gsis = q.gsiCount - gone.length;
        const fds = target.openFdCount() - gone.length * DESCRIPTORS_PER_ROUTE;
        const commits = q.commitCount;
        expect(target.takeIrr(p)).toEqual([]);
        const armFaults = (): void => void sys.failStep(step, ENOMEM);
        if (!s.armsFaults) armFaults();
        let err: unknown;
        try {
          s.op(
            q,
            exp.map((e) => e.route),
            armFaults,
          );
        } catch (e) {
          err = e;
        }
        const what = `${s.name}, failing system call ${step + 1} of ${steps} (${sys.log.find((r) => r.injected)?.label ?? '?'})`;
        expect({ what, injected: sys.log.some((r) => r.injected) }).toEqual({ what, injected: true });
        if (!isVirtError(err)) throw new Error(`${what}: expected a VirtError, got ${String(err)}`);
        expect({ what, code: err.code, errnoName: err.errnoName }).toEqual({ what, code: 'SYSCALL', errnoName: 'ENOMEM' });
        // Memory and kernel agree and nothing changed.
        expect({ what, pending: q.table.pending }).toEqual({ what, pending: false });
        expect({ what, table: [...q.table.kernelRoutes()] }).toEqual({ what, table: [...kernelBefore] });
        // The kernel's own table, and what it flagged, can be read back on the model only.
        if (!target.real) {
          const model = target.modelOf(p);
          expect({ what, kernel: [...model.msiRoutes()], hazards: model.hazards }).toEqual({ what, kernel: [...kernelBefore], hazards: [] });
        }
        expect({ what, routes: q.routeCount, gsis: q.gsiCount, fds: target.openFdCount(), commitsAfter: q.commitCount >= commits }).toEqual({
          what,
          routes: routeCount,
          gsis,
          fds,
          commitsAfter: true,
        });
        expect({ what, irr: target.takeIrr(p) }).toEqual({ what, irr: [] });
        for (const e of exp) {
          if (e.disposedByOp) {
            expect({ what, disposed: e.route.disposed }).toEqual({ what, disposed: true });
            continue;
          }
          expect({ what, msi: e.route.msi, masked: e.route.masked, disposed: e.route.disposed }).toEqual({ what, msi: e.msi, masked: e.masked, disposed: false });
          const armed = e.msi !== undefined && !e.masked;
          // A latched signal is still latched.
          if (e.latched) expect({ what, pending: e.route.consumePending() }).toEqual({ what, pending: true });
          // And the route behaves as before: armed routes deliver to their target, others latch.
          e.route.event.signal();
          const expected = armed ? [[e.target!.vcpu, e.target!.vector]] : [];
          expect({ what, irr: target.takeIrr(p) }).toEqual({ what, irr: expected });
          if (!armed) expect({ what, latched: e.route.consumePending() }).toEqual({ what, latched: true });
        }
      }
    });
  }

  it('dispose: a failure at any step never throws, releases the route and its descriptors, and the GSI is freed once the kernel dropped it', () => {
    let labels: string[];
    {
      using p = target.create();
      const counter = target.sysOf(p);
      const q = p.irqfd() as KvmIrqFd;
      const r = route(q, A, true);
      const mark = counter.mark();
      r.dispose();
      labels = counter.callsSince(mark).map((c) => c.label);
    }
    // Deassign, removal commit, then the eventfd: kcmp proves event.fd still names it, close that duplicate, close its own.
    expect(labels).toEqual(['KVM_IRQFD', 'KVM_SET_GSI_ROUTING', 'kcmp', 'close', 'close']);
    for (let step = 0; step < labels.length; step++) {
      const what = `failing ${labels[step]} (call ${step + 1})`;
      using p = target.create();
      const sys = target.sysOf(p);
      const q = p.irqfd() as KvmIrqFd;
      const fds = target.openFdCount();
      const r = route(q, A, true);
      sys.failStep(step, ENOMEM);
      expect(() => r.dispose()).not.toThrow();
      expect(r.disposed).toBe(true);
      expect(q.routeCount).toBe(0);
      // Without kcmp's proof that event.fd still names the eventfd, that number is left open rather
      // than risk closing someone else's file; a close(2) that fails has released its number anyway.
      const unproven = labels[step] === 'kcmp' ? 1 : 0;
      expect({ what, fds: target.openFdCount() - fds }).toEqual({ what, fds: unproven });
      if (unproven) sys.inner.close(r.event.fd);
      // Only a failed commit leaves the removal to do.
      const commitFailed = labels[step] === 'KVM_SET_GSI_ROUTING';
      expect({ what, pending: q.table.pending, gsis: q.gsiCount }).toEqual({ what, pending: commitFailed, gsis: commitFailed ? 1 : 0 });
      // The kernel's table, and what it flagged, can be read back on the model only: the route stays until that removal.
      if (!target.real) {
        const model = target.modelOf(p);
        expect({ what, kernel: model.msiRoutes().size, hazards: model.hazards }).toEqual({ what, kernel: commitFailed ? 1 : 0, hazards: [] });
      }
      // A later commit drops the stale route and frees the GSI; new routes work.
      const s = route(q, B, true);
      expect(q.table.pending).toBe(false);
      expect(q.gsiCount).toBe(1);
      s.event.signal();
      expect(target.takeIrr(p)).toEqual([[B.vcpu, B.vector]]);
    }
  });
});
