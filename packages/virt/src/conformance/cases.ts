/**
 * The irqfd conformance cases. Each one checks delivery (which vector landed on which vCPU), not
 * just that calls returned. A case gets a fresh subject and must leave nothing behind but what
 * the subject's dispose() releases.
 */
import type { IrqFd, IrqFdRoute } from '../contract/irqfd';
import { isVirtError } from '../errors';
import { encodeMsi } from '../msi/codec';
import { check, checkEqual, checkThrows } from './check';
import type { ConformanceSubject } from './types';

export interface CaseContext {
  readonly subject: ConformanceSubject;
  readonly irqfd: IrqFd;
  /** A fixed, physical, edge MSI naming `vcpu`'s APIC ID. */
  readonly msiFor: (vcpu: number, vector: number) => { address: number; data: number };
  /** A new route programmed for (vcpu, vector), masked or unmasked. */
  readonly route: (vcpu: number, vector: number, unmasked?: boolean) => IrqFdRoute;
  /** Settles, then checks that exactly these (vcpu, vector) pairs landed since the last look. */
  readonly expectDeliveries: (expected: ReadonlyArray<readonly [number, number]>, what: string) => Promise<void>;
}

export interface ConformanceCase {
  readonly name: string;
  run(ctx: CaseContext): Promise<void>;
}

const V = [0x41, 0x42, 0x55, 0x66, 0xa1, 0xef];

export const conformanceCases: readonly ConformanceCase[] = [
  {
    name: 'partition: shape, frozen capabilities, one irqfd object',
    async run({ subject, irqfd }) {
      const p = subject.partition;
      check(typeof p.backend === 'string' && p.backend.length > 0, 'backend must be a non-empty string');
      check(p.vcpuCount >= 2, `the suite needs at least 2 vCPUs, got ${p.vcpuCount}`);
      check(Object.isFrozen(p.capabilities), 'partition capabilities must be frozen');
      check(Object.isFrozen(irqfd.capabilities), 'irqfd capabilities must be frozen');
      check(p.irqfd() === irqfd, 'irqfd() must return the same object on every call');
      checkEqual(p.capabilities.irqfd, irqfd.capabilities.mediation, 'capabilities.irqfd vs irqfd().capabilities.mediation');
      check(irqfd.capabilities.maxRoutes > 0, 'maxRoutes must be positive');
      const ids = [0, 1].map((v) => subject.observer.apicId(v));
      check(ids[0] !== ids[1], `vCPUs 0 and 1 must have distinct APIC IDs, got ${ids.join(', ')}`);
    },
  },
  {
    name: 'route: starts masked with no MSI; a signal latches and delivers nothing',
    async run({ irqfd, expectDeliveries }) {
      const r = irqfd.newIrqFdRoute();
      checkEqual(r.masked, true, 'new route masked');
      checkEqual(r.msi, undefined, 'new route msi');
      checkEqual(r.disposed, false, 'new route disposed');
      checkEqual(irqfd.routeCount, 1, 'routeCount');
      r.event.signal();
      await expectDeliveries([], 'signal on a new route');
      check(r.consumePending(), 'the signal must latch (consumePending true)');
      check(!r.consumePending(), 'consumePending reports a latched signal once');
    },
  },
  {
    name: 'delivery: each vector lands on the vCPU its APIC ID names, and nowhere else',
    async run({ route, expectDeliveries }) {
      const a = route(0, V[0]!, true);
      const b = route(1, V[1]!, true);
      a.event.signal();
      await expectDeliveries([[0, V[0]!]], 'signal on the route to vCPU 0');
      b.event.signal();
      await expectDeliveries([[1, V[1]!]], 'signal on the route to vCPU 1');
      a.event.signal();
      b.event.signal();
      await expectDeliveries([[0, V[0]!], [1, V[1]!]], 'both routes signalled');
    },
  },
  {
    name: 'delivery: the event is a distinct signalable object per route, with the raw fd/handle of its kind',
    async run({ irqfd }) {
      const a = irqfd.newIrqFdRoute();
      const b = irqfd.newIrqFdRoute();
      check(a.event !== b.event, 'routes must not share an event');
      for (const e of [a.event, b.event]) {
        if (e.kind === 'eventfd') check(Number.isInteger(e.fd) && e.fd! >= 0 && e.handle === undefined, 'an eventfd has an fd and no handle');
        else if (e.kind === 'win32-event') check(typeof e.handle === 'bigint' && e.fd === undefined, 'a Win32 event has a handle and no fd');
        else checkEqual(e.kind, 'in-process', 'event kind');
      }
      if (a.event.kind === 'eventfd') check(a.event.fd !== b.event.fd, 'distinct eventfds');
    },
  },
  {
    name: 'setMsi while unmasked retargets: the next signal lands on the new vCPU and vector only',
    async run({ route, msiFor, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      r.event.signal();
      await expectDeliveries([[0, V[0]!]], 'before retarget');
      const m = msiFor(1, V[2]!);
      r.setMsi(m.address, m.data);
      checkEqual(r.masked, false, 'retarget keeps the route unmasked');
      r.event.signal();
      await expectDeliveries([[1, V[2]!]], 'after retarget to vCPU 1');
      const back = msiFor(0, V[3]!);
      r.setMsi(BigInt(back.address), back.data);
      r.event.signal();
      await expectDeliveries([[0, V[3]!]], 'after retarget back (bigint address)');
    },
  },
  {
    name: 'clearMsi: the route stops delivering; the signal latches and is delivered once when an MSI is set again',
    async run({ route, msiFor, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      r.clearMsi();
      checkEqual(r.msi, undefined, 'msi after clearMsi');
      r.event.signal();
      await expectDeliveries([], 'signal with no MSI');
      const m = msiFor(1, V[1]!);
      r.setMsi(m.address, m.data);
      await expectDeliveries([[1, V[1]!]], 'latched signal on setMsi');
      r.event.signal();
      await expectDeliveries([[1, V[1]!]], 'a new signal');
      check(!r.consumePending(), 'nothing left pending');
    },
  },
  {
    name: 'mask → signal → unmask delivers exactly once',
    async run({ route, expectDeliveries }) {
      const r = route(1, V[4]!, true);
      r.mask();
      checkEqual(r.masked, true, 'masked');
      r.event.signal();
      await expectDeliveries([], 'signal while masked');
      r.unmask();
      await expectDeliveries([[1, V[4]!]], 'unmask delivers the latched signal');
      r.mask();
      r.unmask();
      await expectDeliveries([], 'a second mask/unmask delivers nothing more');
      check(!r.consumePending(), 'nothing pending after delivery');
    },
  },
  {
    name: 'mask → several signals → unmask delivers once (edge signals coalesce)',
    async run({ route, expectDeliveries }) {
      const r = route(0, V[5]!, true);
      r.mask();
      r.event.signal();
      r.event.signal();
      r.event.signal();
      r.unmask();
      await expectDeliveries([[0, V[5]!]], 'unmask after three signals');
      r.mask();
      r.unmask();
      await expectDeliveries([], 'nothing more');
    },
  },
  {
    name: 'mask → signal → consumePending reports it once; unmask then delivers nothing',
    async run({ route, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      r.mask();
      check(!r.consumePending(), 'nothing pending before the signal');
      r.event.signal();
      check(r.consumePending(), 'consumePending reports the latched signal');
      check(!r.consumePending(), 'and only once');
      r.unmask();
      await expectDeliveries([], 'unmask after consumePending');
      r.event.signal();
      await expectDeliveries([[0, V[0]!]], 'the route still delivers afterwards');
    },
  },
  {
    name: 'mask and unmask are idempotent',
    async run({ route, expectDeliveries }) {
      const r = route(1, V[1]!, false);
      r.mask();
      r.mask();
      r.event.signal();
      r.unmask();
      r.unmask();
      await expectDeliveries([[1, V[1]!]], 'double mask, signal, double unmask');
      r.event.signal();
      await expectDeliveries([[1, V[1]!]], 'still armed');
    },
  },
  {
    name: 'consumePending on an armed route is false and steals no delivery',
    async run({ route, expectDeliveries }) {
      const r = route(0, V[2]!, true);
      check(!r.consumePending(), 'armed route: nothing pending');
      r.event.signal();
      await expectDeliveries([[0, V[2]!]], 'signal on an armed route');
      check(!r.consumePending(), 'armed route after a signal: nothing pending');
    },
  },
  {
    name: 'unmask without an MSI delivers nothing; the signal waits for setMsi',
    async run({ irqfd, msiFor, expectDeliveries }) {
      const r = irqfd.newIrqFdRoute();
      r.event.signal();
      r.unmask();
      checkEqual(r.masked, false, 'unmasked');
      await expectDeliveries([], 'unmasked without MSI');
      const m = msiFor(0, V[3]!);
      r.setMsi(m.address, m.data);
      await expectDeliveries([[0, V[3]!]], 'setMsi delivers the latched signal');
    },
  },
  {
    name: 'requestMsi injects one message on the named vCPU',
    async run({ subject, msiFor, expectDeliveries }) {
      const m = msiFor(1, V[5]!);
      check(subject.partition.requestMsi(m.address, m.data) === true, 'requestMsi returns true when delivered');
      await expectDeliveries([[1, V[5]!]], 'requestMsi to vCPU 1');
      const n = msiFor(0, V[0]!);
      subject.partition.requestMsi(BigInt(n.address), n.data);
      await expectDeliveries([[0, V[0]!]], 'requestMsi to vCPU 0 (bigint address)');
    },
  },
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
    async run({ subject, irqfd, route, msiFor, expectDeliveries }) {
      // Without a routing table there is no commit to fail: every change applied at once.
      if (!irqfd.capabilities.routingTable) return;
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
  {
    name: 'exhaustion: maxRoutes routes, then a typed EXHAUSTED error; recovers after a dispose',
    async run({ irqfd, msiFor, expectDeliveries }) {
      const max = irqfd.capabilities.maxRoutes;
      const base = irqfd.routeCount;
      const routes: IrqFdRoute[] = [];
      try {
        for (let i = base; i < max; i++) routes.push(irqfd.newIrqFdRoute());
        checkEqual(irqfd.routeCount, max, 'routeCount at the limit');
        checkThrows(() => irqfd.newIrqFdRoute(), 'EXHAUSTED', 'one route past maxRoutes');
        checkEqual(irqfd.routeCount, max, 'routeCount after the failed create');
        routes.pop()!.dispose();
        const r = irqfd.newIrqFdRoute();
        routes.push(r);
        const m = msiFor(1, V[1]!);
        r.setMsi(m.address, m.data);
        r.unmask();
        r.event.signal();
        await expectDeliveries([[1, V[1]!]], 'a route created after recovering');
      } finally {
        irqfd.batch(() => routes.forEach((r) => r.dispose()));
      }
      checkEqual(irqfd.routeCount, base, 'routeCount after disposing them all');
    },
  },
  {
    name: 'dispose: idempotent, Symbol.dispose works, releases the route, delivers nothing after',
    async run({ irqfd, route, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      const count = irqfd.routeCount;
      r.mask();
      r.event.signal(); // latched, then dropped with the route
      r.dispose();
      checkEqual(r.disposed, true, 'disposed');
      checkEqual(irqfd.routeCount, count - 1, 'routeCount after dispose');
      r.dispose();
      r[Symbol.dispose]();
      checkEqual(irqfd.routeCount, count - 1, 'routeCount after repeated dispose');
      check(r.event.disposed, 'the route disposes its event');
      await expectDeliveries([], 'disposing a masked route with a latched signal');
      {
        using s = route(1, V[1]!, true);
        s.event.signal();
      }
      await expectDeliveries([[1, V[1]!]], 'a route used with `using`');
      checkEqual(irqfd.routeCount, count - 1, 'routeCount after the `using` block');
    },
  },
  {
    name: 'use after dispose: every call throws DISPOSED',
    async run({ route, msiFor }) {
      const r = route(0, V[0]!, true);
      r.dispose();
      const m = msiFor(0, V[0]!);
      checkThrows(() => r.setMsi(m.address, m.data), 'DISPOSED', 'setMsi after dispose');
      checkThrows(() => r.clearMsi(), 'DISPOSED', 'clearMsi after dispose');
      checkThrows(() => r.mask(), 'DISPOSED', 'mask after dispose');
      checkThrows(() => r.unmask(), 'DISPOSED', 'unmask after dispose');
      checkThrows(() => r.consumePending(), 'DISPOSED', 'consumePending after dispose');
      checkThrows(() => r.onEventReplaced(() => undefined), 'DISPOSED', 'onEventReplaced after dispose');
      checkThrows(() => r.event.signal(), 'DISPOSED', 'signal on the disposed route event');
    },
  },
  {
    name: 'bad inputs are rejected with a typed error before any side effect',
    async run({ subject, irqfd, route, msiFor, expectDeliveries }) {
      // Three routes in the three states a rejected call must not disturb: armed, masked with a
      // latched signal, and without an MSI with a latched signal.
      const r = route(0, V[0]!, true);
      const masked = route(1, V[2]!, false);
      const bare = irqfd.newIrqFdRoute();
      masked.event.signal();
      bare.event.signal();
      await expectDeliveries([], 'signals on the masked route and the route without MSI');
      const good = r.msi;
      const maskedMsi = masked.msi;
      const commits = irqfd.commitCount;
      const ok = msiFor(1, V[1]!);
      const bad: Array<[unknown, unknown, 'INVALID_ARGUMENT' | 'INVALID_MSI', string]> = [
        [0xfed00000, ok.data, 'INVALID_MSI', 'address below the window'],
        [0xfef00000, ok.data, 'INVALID_MSI', 'address above the window'],
        [0, ok.data, 'INVALID_MSI', 'address 0'],
        [ok.address, 0x0f, 'INVALID_MSI', 'fixed vector 15'],
        [ok.address, 0x00, 'INVALID_MSI', 'fixed vector 0'],
        [ok.address, 0x0300 | 0x41, 'INVALID_MSI', 'reserved delivery mode 3'],
        [ok.address, 0x10041, 'INVALID_MSI', 'reserved data bits'],
        [ok.address + 2, ok.data, 'INVALID_MSI', 'address bits 1:0 set'],
        [ok.address, 0x1_0000_0000, 'INVALID_ARGUMENT', 'data above 32 bits'],
        [ok.address, -1, 'INVALID_ARGUMENT', 'negative data'],
        [ok.address, 65.5, 'INVALID_ARGUMENT', 'fractional data'],
        [ok.address, Number.NaN, 'INVALID_ARGUMENT', 'NaN data'],
        [ok.address, Number.POSITIVE_INFINITY, 'INVALID_ARGUMENT', 'infinite data'],
        [ok.address, '65', 'INVALID_ARGUMENT', 'string data'],
        [ok.address, BigInt(ok.data), 'INVALID_ARGUMENT', 'bigint data'],
        [ok.address, true, 'INVALID_ARGUMENT', 'boolean data'],
        [ok.address, undefined, 'INVALID_ARGUMENT', 'missing data'],
        [-1, ok.data, 'INVALID_ARGUMENT', 'negative address'],
        [ok.address + 0.5, ok.data, 'INVALID_ARGUMENT', 'fractional address'],
        [Number.NaN, ok.data, 'INVALID_ARGUMENT', 'NaN address'],
        [2 ** 64, ok.data, 'INVALID_ARGUMENT', 'address number above 2^53'],
        [-1n, ok.data, 'INVALID_ARGUMENT', 'negative bigint address'],
        [1n << 64n, ok.data, 'INVALID_ARGUMENT', 'bigint address above 64 bits'],
        [String(ok.address), ok.data, 'INVALID_ARGUMENT', 'string address'],
        [undefined, ok.data, 'INVALID_ARGUMENT', 'undefined address'],
        [null, ok.data, 'INVALID_ARGUMENT', 'null address'],
        [{}, ok.data, 'INVALID_ARGUMENT', 'object address'],
      ];
      for (const [address, data, code, what] of bad) {
        checkThrows(() => r.setMsi(address as number, data as number), code, `setMsi on an armed route: ${what}`);
        checkThrows(() => masked.setMsi(address as number, data as number), code, `setMsi on a masked route: ${what}`);
        checkThrows(() => bare.setMsi(address as number, data as number), code, `setMsi on a route without MSI: ${what}`);
        checkThrows(() => subject.partition.requestMsi(address as number, data as number), code, `requestMsi: ${what}`);
      }
      checkEqual([r.msi, r.masked], [good, false], 'the armed route (msi, masked) after rejected setMsi calls');
      checkEqual([masked.msi, masked.masked], [maskedMsi, true], 'the masked route (msi, masked) after rejected setMsi calls');
      checkEqual([bare.msi, bare.masked], [undefined, true], 'the route without MSI (msi, masked) after rejected setMsi calls');
      checkEqual(irqfd.commitCount, commits, 'commits issued by rejected calls');
      await expectDeliveries([], 'rejected setMsi and requestMsi calls');
      r.event.signal();
      await expectDeliveries([[0, V[0]!]], 'the armed route still delivers to its old target');
      check(masked.consumePending(), 'the masked route still holds its latched signal');
      const m = msiFor(0, V[3]!);
      bare.setMsi(m.address, m.data);
      bare.unmask();
      await expectDeliveries([[0, V[3]!]], 'the route without MSI still holds its latched signal, delivered once armed');
    },
  },
  {
    name: 'partition dispose releases every route; later calls throw DISPOSED',
    async run({ subject, irqfd, route, msiFor }) {
      const r = route(0, V[0]!, true);
      const m = msiFor(0, V[0]!);
      subject.partition.dispose();
      checkEqual(subject.partition.disposed, true, 'partition.disposed');
      subject.partition.dispose();
      checkThrows(() => subject.partition.requestMsi(m.address, m.data), 'DISPOSED', 'requestMsi after dispose');
      checkThrows(() => irqfd.newIrqFdRoute(), 'DISPOSED', 'newIrqFdRoute after dispose');
      checkThrows(() => irqfd.batch(() => undefined), 'DISPOSED', 'batch after dispose');
      checkEqual(irqfd.routeCount, 0, 'routeCount after partition dispose');
      let threw = false;
      try {
        r.setMsi(m.address, m.data);
      } catch (e) {
        threw = isVirtError(e, 'DISPOSED');
      }
      check(threw, 'a route of a disposed partition throws DISPOSED');
      r.dispose();
    },
  },
];

/** Builds the context a case runs with. */
export function caseContext(subject: ConformanceSubject, irqfd: IrqFd): CaseContext {
  const msiFor = (vcpu: number, vector: number) => {
    const m = encodeMsi({ destinationId: subject.observer.apicId(vcpu), vector });
    return { address: m.addressLo, data: m.data };
  };
  return {
    subject,
    irqfd,
    msiFor,
    route: (vcpu, vector, unmasked = false) => {
      const r = irqfd.newIrqFdRoute();
      const m = msiFor(vcpu, vector);
      r.setMsi(m.address, m.data);
      if (unmasked) r.unmask();
      return r;
    },
    expectDeliveries: async (expected, what) => {
      await subject.settle();
      const got: Array<[number, number]> = [];
      for (let v = 0; v < subject.partition.vcpuCount; v++) for (const vec of subject.observer.take(v)) got.push([v, vec]);
      const norm = (xs: ReadonlyArray<readonly [number, number]>) =>
        [...new Set(xs.map(([c, v]) => `vCPU ${c} vector 0x${v.toString(16)}`))].sort();
      checkEqual(norm(got), norm(expected), `deliveries (${what})`);
    },
  };
}
