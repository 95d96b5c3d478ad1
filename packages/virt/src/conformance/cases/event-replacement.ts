/**
 * Event replacement, where `capabilities.stableEvent` is false: after `setMsi`, `mask` or `unmask`
 * the route may hand out a new event. The listener receives each new event once, the route's
 * `event` is the new one, the old one no longer delivers, the new one does, and a signal latched
 * across a replacement is delivered once.
 */
import type { Event } from '../../contract/event';
import { isVirtError } from '../../errors';
import { check, checkEqual } from '../check';
import { type ConformanceCase, V } from './context';

/** Signals `e` if it can still be signalled (a replaced event may be disposed: DISPOSED is fine). */
function signalIfOpen(e: Event): void {
  try {
    e.signal();
  } catch (err) {
    if (!isVirtError(err, 'DISPOSED')) throw err;
  }
}

export const eventReplacementCases: readonly ConformanceCase[] = [
  {
    name: 'event replacement: the listener gets each new event once; the old one no longer delivers; the new one does; a latched signal is delivered once',
    skipReason: (m) => (m.stableEvent ? 'not applicable: stableEvent is true (routes never replace their event)' : undefined),
    async run({ route, msiFor, expectDeliveries }) {
      const r = route(0, V[0]!, true);
      const seen: Event[] = [];
      const unsubscribe = r.onEventReplaced((e) => seen.push(e));
      let current = r.event;
      let replacements = 0;
      /** After a call: if the event changed, the listener must have been told exactly once, with it. */
      const follow = (what: string): Event | undefined => {
        if (r.event === current) {
          checkEqual(seen.length, replacements, `listener calls after ${what} (event unchanged)`);
          return undefined;
        }
        replacements++;
        checkEqual(seen.length, replacements, `listener calls after ${what}`);
        check(seen[seen.length - 1] === r.event, `the listener received route.event after ${what}`);
        const old = current;
        current = r.event;
        return old;
      };
      // Retarget: the old event must not deliver, the new one delivers to the new target.
      const m1 = msiFor(1, V[1]!);
      r.setMsi(m1.address, m1.data);
      const old1 = follow('setMsi');
      if (old1) {
        signalIfOpen(old1);
        await expectDeliveries([], 'a signal on the replaced event (after setMsi)');
      }
      r.event.signal();
      await expectDeliveries([[1, V[1]!]], 'a signal on the current event after setMsi');
      // Mask, signal (latched), unmask: the latched signal crosses the replacement and lands once.
      r.mask();
      const old2 = follow('mask');
      if (old2) {
        signalIfOpen(old2);
        await expectDeliveries([], 'a signal on the event replaced by mask');
      }
      r.event.signal();
      await expectDeliveries([], 'a signal while masked');
      r.unmask();
      const old3 = follow('unmask');
      await expectDeliveries([[1, V[1]!]], 'the latched signal, delivered once after unmask');
      if (old3) {
        signalIfOpen(old3);
        await expectDeliveries([], 'a signal on the event replaced by unmask');
      }
      check(!r.consumePending(), 'the latched signal is not also pending (never both)');
      r.event.signal();
      await expectDeliveries([[1, V[1]!]], 'the current event still delivers');
      check(replacements > 0, 'a backend declaring stableEvent: false replaced the event at least once across setMsi, mask and unmask');
      unsubscribe();
      const before = seen.length;
      r.mask();
      r.unmask();
      checkEqual(seen.length, before, 'no listener call after unsubscribe');
    },
  },
];
