/**
 * Every system call of every route operation, failed in turn: the operation throws a typed error
 * (or, for dispose, does not throw), the in-memory routing table matches the kernel's, the route is
 * as it was, and it still behaves as it did (checked by real delivery into the local APIC).
 */
import { type MsiMessage, isVirtError } from '@tsvmm/virt';
import { ENOMEM } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import type { KvmIrqFd, KvmIrqFdRoute, KvmPartition } from '../src';
import { create, describeKvm, msiTo, openFdCount, takeIrr } from './kvm-env';

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

const scenarios: Scenario[] = [
  {
    name: 'setMsi on a masked route (commit)',
    setup: (q) => [state(route(q, undefined, false), undefined)],
    op: (_q, [r]) => set(r!, A),
  },
  {
    name: 'setMsi on an unmasked route without MSI (commit, then assign)',
    setup: (q) => [state(route(q, undefined, true), undefined)],
    op: (_q, [r]) => set(r!, A),
  },
  {
    name: 'setMsi on an unmasked route with a latched signal (commit, consume, assign, inject)',
    setup: (q) => [state(route(q, undefined, true, true), undefined, true)],
    op: (_q, [r]) => set(r!, A),
  },
  {
    name: 'setMsi retargeting an armed route (commit)',
    setup: (q) => [state(route(q, A, true), A)],
    op: (_q, [r]) => set(r!, B),
  },
  {
    name: 'clearMsi on an armed route (deassign, commit)',
    setup: (q) => [state(route(q, A, true), A)],
    op: (_q, [r]) => r!.clearMsi(),
  },
  {
    name: 'clearMsi on a masked route (commit)',
    setup: (q) => [state(route(q, A, false), A)],
    op: (_q, [r]) => r!.clearMsi(),
  },
  {
    name: 'mask (deassign)',
    setup: (q) => [state(route(q, A, true), A)],
    op: (_q, [r]) => r!.mask(),
  },
  {
    name: 'unmask (consume, assign)',
    setup: (q) => [state(route(q, A, false), A)],
    op: (_q, [r]) => r!.unmask(),
  },
  {
    name: 'unmask with a latched signal (consume, assign, inject)',
    setup: (q) => [state(route(q, A, false, true), A, true)],
    op: (_q, [r]) => r!.unmask(),
  },
  {
    name: 'consumePending (read)',
    setup: (q) => [state(route(q, A, false, true), A, true)],
    op: (_q, [r]) => void r!.consumePending(),
  },
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

describeKvm('fault injection at every system call of every operation (real /dev/kvm)', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      // Count the operation's system calls on a clean run.
      const counter = new FaultInjector();
      let steps: number;
      {
        using p = create({ sys: counter });
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
        const sys = new FaultInjector();
        using p = create({ sys });
        const q = p.irqfd() as KvmIrqFd;
        const exp = s.setup(q, p);
        const gone = exp.filter((e) => e.disposedByOp);
        const kernelBefore = new Map(q.table.kernelRoutes());
        for (const e of gone) if (e.route.gsi !== undefined) kernelBefore.delete(e.route.gsi);
        const routeCount = q.routeCount - gone.length;
        const gsis = q.gsiCount - gone.length;
        const fds = openFdCount() - gone.length;
        const commits = q.commitCount;
        expect(takeIrr(p)).toEqual([]);
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
        expect({ what, routes: q.routeCount, gsis: q.gsiCount, fds: openFdCount(), commitsAfter: q.commitCount >= commits }).toEqual({
          what,
          routes: routeCount,
          gsis,
          fds,
          commitsAfter: true,
        });
        expect({ what, irr: takeIrr(p) }).toEqual({ what, irr: [] });
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
          expect({ what, irr: takeIrr(p) }).toEqual({ what, irr: expected });
          if (!armed) expect({ what, latched: e.route.consumePending() }).toEqual({ what, latched: true });
        }
      }
    });
  }

  it('dispose: a failure at any step never throws, releases the route and its fd, and the GSI is freed once the kernel dropped it', () => {
    const counter = new FaultInjector();
    let steps: number;
    {
      using p = create({ sys: counter });
      const q = p.irqfd() as KvmIrqFd;
      const r = route(q, A, true);
      const mark = counter.mark();
      r.dispose();
      steps = counter.callsSince(mark).length;
    }
    expect(steps).toBe(3); // deassign, commit, close
    for (let step = 0; step < steps; step++) {
      const sys = new FaultInjector();
      using p = create({ sys });
      const q = p.irqfd() as KvmIrqFd;
      const fds = openFdCount();
      const r = route(q, A, true);
      sys.failStep(step, ENOMEM);
      expect(() => r.dispose()).not.toThrow();
      expect(r.disposed).toBe(true);
      expect(q.routeCount).toBe(0);
      expect(openFdCount()).toBe(fds);
      expect(q.table.pending).toBe(step === 1); // only a failed commit leaves the removal to do
      expect(q.gsiCount).toBe(step === 1 ? 1 : 0);
      // A later commit drops the stale route and frees the GSI; new routes work.
      const s = route(q, B, true);
      expect(q.table.pending).toBe(false);
      expect(q.gsiCount).toBe(1);
      s.event.signal();
      expect(takeIrr(p)).toEqual([[B.vcpu, B.vector]]);
    }
  });
});
