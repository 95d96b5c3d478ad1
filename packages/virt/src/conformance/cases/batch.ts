/** batch(): commits, nesting, throwing callbacks, signals inside a batch, failed commits. */
import type { IrqFdRoute } from '../../contract/irqfd';
import { isVirtError } from '../../errors';
import { check, checkEqual } from '../check';
import { type ConformanceCase, V } from './context';

export const batchCases: readonly ConformanceCase[] = [
  {
    name: 'batch: N route changes cost at most one commit, and every route delivers after it',
    async run({ irqfd, msiFor, expectDeliveries }) {
      const n = 16;
      const before = irqfd.commitCount;
      const routes = irqfd.batch(() =>
        Array.from({ length: n }, (_, i) => {
          const r = irqfd.newIrqFdRoute();
          const m = msiFor(i % 2, 0x30 + i);
          r.setMsi(m.address, m.data);
          r.unmask();
          return r;
        }),
      );
      const commits = irqfd.commitCount - before;
      if (irqfd.capabilities.routingTable) checkEqual(commits, 1, 'commits for a batch of 16 new routes');
      else checkEqual(commits, 0, 'commits without a routing table');
      routes.forEach((r) => r.event.signal());
      await expectDeliveries(
        routes.map((_, i) => [i % 2, 0x30 + i] as const),
        'every route of the batch',
      );
      const mid = irqfd.commitCount;
      irqfd.batch(() => routes.forEach((r, i) => r.setMsi(msiFor((i + 1) % 2, 0x60 + i).address, 0x60 + i)));
      if (irqfd.capabilities.routingTable) checkEqual(irqfd.commitCount - mid, 1, 'commits for a batch of 16 retargets');
      routes.forEach((r) => r.event.signal());
      await expectDeliveries(
        routes.map((_, i) => [(i + 1) % 2, 0x60 + i] as const),
        'every retargeted route',
      );
    },
  },
  {
    name: 'batch: nested batches commit once; an unchanged MSI costs no commit',
    async run({ irqfd, route, msiFor }) {
      const a = route(0, V[0]!, true);
      const b = route(1, V[1]!, true);
      const before = irqfd.commitCount;
      irqfd.batch(() => {
        a.setMsi(msiFor(1, V[2]!).address, V[2]!);
        irqfd.batch(() => b.setMsi(msiFor(0, V[3]!).address, V[3]!));
      });
      check(irqfd.commitCount - before <= 1, `nested batches: at most one commit, got ${irqfd.commitCount - before}`);
      const mid = irqfd.commitCount;
      const m = a.msi!;
      a.setMsi(BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n), m.data);
      checkEqual(irqfd.commitCount - mid, 0, 'commits for setting the same MSI again');
      irqfd.batch(() => undefined);
      checkEqual(irqfd.commitCount - mid, 0, 'commits for an empty batch');
    },
  },
  {
    name: 'batch: a throwing callback still applies its changes, then the error propagates',
    async run({ irqfd, route, msiFor, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      const boom = new Error('boom');
      let caught: unknown;
      try {
        irqfd.batch(() => {
          r.setMsi(msiFor(1, V[4]!).address, V[4]!);
          throw boom;
        });
      } catch (e) {
        caught = e;
      }
      check(caught === boom, 'the callback error propagates unchanged');
      r.event.signal();
      await expectDeliveries([[1, V[4]!]], 'the change made before the throw');
    },
  },
  {
    name: 'batch: an async callback is refused (INVALID_ARGUMENT) after what it did before its first await is applied',
    async run({ irqfd, route, msiFor, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      const s = route(1, V[1]!, true);
      let caught: unknown;
      let after: Promise<void> | undefined;
      try {
        void irqfd.batch(async () => {
          r.setMsi(msiFor(1, V[4]!).address, V[4]!);
          after = Promise.resolve();
          await after;
          s.mask();
        });
      } catch (e) {
        caught = e;
      }
      check(isVirtError(caught, 'INVALID_ARGUMENT') && /promise/.test((caught as Error).message), `an async callback: INVALID_ARGUMENT naming the promise, got ${String(caught)}`);
      r.event.signal();
      await expectDeliveries([[1, V[4]!]], 'the change made before the first await');
      await after;
      await Promise.resolve();
      check(s.masked, 'the work after the await ran later, outside the batch');
      const t = irqfd.batch(() => ({ then: 1 }));
      checkEqual(t.then, 1, 'an object with a non-function then is an ordinary result');
    },
  },
  {
    name: 'batch: signals raised inside a batch are delivered once (armed in it) or latch (masked in it)',
    async run({ irqfd, route, msiFor, expectDeliveries }) {
      const r = irqfd.newIrqFdRoute();
      const m = msiFor(1, V[5]!);
      irqfd.batch(() => {
        r.setMsi(m.address, m.data);
        r.unmask();
        r.event.signal();
        r.event.signal();
      });
      await expectDeliveries([[1, V[5]!]], 'a route armed in the batch, signalled twice inside it');
      check(!r.consumePending(), 'nothing left pending after the batch delivered it (never both)');
      irqfd.batch(() => {
        r.mask();
        r.event.signal();
      });
      await expectDeliveries([], 'a route masked in the batch, signalled inside it');
      check(r.consumePending(), 'the signal latched');
      const s = route(0, V[4]!, true);
      irqfd.batch(() => {
        s.dispose();
        r.unmask();
      });
      s.dispose();
      check(s.disposed, 'a route disposed in a batch is disposed');
      r.event.signal();
      await expectDeliveries([[1, V[5]!]], 'the other route of that batch, unmasked in it');
    },
  },
  {
    name: 'batch: a failed commit throws a typed error and rolls every route of the batch back',
    skipReason: (m) => (m.routingTable ? undefined : 'not applicable: no routing table, so there is no commit to fail'),
    async run({ subject, irqfd, route, msiFor, expectDeliveries }) {
      check(irqfd.capabilities.routingTable, 'the manifest says routingTable, so must the capabilities');
      check(
        typeof subject.failNextCommit === 'function',
        'a backend with a routing table must give its ConformanceSubject failNextCommit(), so the suite can check batch rollback',
      );
      const a = route(0, V[0]!, true); // armed
      const b = route(1, V[1]!, false); // masked, with a latched signal
      b.event.signal();
      const c = irqfd.newIrqFdRoute(); // no MSI
      const before = { a: a.msi, b: b.msi, routes: irqfd.routeCount, commits: irqfd.commitCount };
      const to = (vcpu: number, vector: number) => msiFor(vcpu, vector).address;
      let created: IrqFdRoute | undefined;
      let caught: unknown;
      subject.failNextCommit();
      try {
        irqfd.batch(() => {
          a.setMsi(to(1, V[2]!), V[2]!);
          b.unmask();
          c.setMsi(to(0, V[3]!), V[3]!);
          c.unmask();
          created = irqfd.newIrqFdRoute();
          created.setMsi(to(1, V[4]!), V[4]!);
          created.unmask();
        });
      } catch (e) {
        caught = e;
      }
      check(isVirtError(caught), `a failed commit must throw a VirtError, got ${String(caught)}`);
      checkEqual(irqfd.commitCount, before.commits, 'commitCount after the failed commit');
      check(created?.disposed === true, 'a route created in the failed batch is disposed');
      checkEqual(irqfd.routeCount, before.routes, 'routeCount after the failed batch');
      checkEqual([a.msi, a.masked], [before.a, false], 'the armed route (msi, masked) after the rollback');
      checkEqual([b.msi, b.masked], [before.b, true], 'the masked route (msi, masked) after the rollback');
      checkEqual([c.msi, c.masked], [undefined, true], 'the route without MSI (msi, masked) after the rollback');
      await expectDeliveries([], 'the failed batch');
      a.event.signal();
      c.event.signal();
      await expectDeliveries([[0, V[0]!]], 'the armed route delivers to its old target; the others latch');
      check(b.consumePending(), 'the masked route still holds its latched signal');
      check(c.consumePending(), 'the route without MSI latched its signal');
      irqfd.batch(() => {
        a.setMsi(to(1, V[2]!), V[2]!);
        b.unmask();
      });
      a.event.signal();
      b.event.signal();
      await expectDeliveries([[1, V[2]!], [1, V[1]!]], 'the same changes, committed by the next batch');
    },
  },
];
