/** Masking, clearing the MSI and consumePending: nothing is lost, nothing is delivered twice. */
import { check, checkEqual } from '../check';
import { type ConformanceCase, V } from './context';

export const maskingCases: readonly ConformanceCase[] = [
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
];
