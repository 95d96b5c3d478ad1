/** Signals land on the vCPU and vector the MSI names, and a retarget applies to the next signal. */
import { check, checkEqual } from '../check';
import { type ConformanceCase, V } from './context';

export const deliveryCases: readonly ConformanceCase[] = [
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
];
