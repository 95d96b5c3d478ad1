/** Exhaustion, disposal and use after disposal. */
import type { IrqFdRoute } from '../../contract/irqfd';
import { isVirtError } from '../../errors';
import { check, checkEqual, checkThrows } from '../check';
import { type ConformanceCase, V } from './context';

export const lifecycleCases: readonly ConformanceCase[] = [
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
