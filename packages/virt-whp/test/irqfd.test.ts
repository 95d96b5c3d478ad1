/**
 * The trigger route state machine on the native model: WHP calls per operation, event replacement
 * and its announcement, signals across replacements and while masked under every setting of the
 * undocumented behaviours, and failures injected at each call.
 */
import { type Event, isVirtError } from '@tsvmm/virt';
import type { IrqFdRoute } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { WhpPartition } from '../src';
import { abi } from '../src/implement';
import { SWITCH_SETTINGS, type WhpModel, applySettings, whpModel } from './support/native-model';
import { fresh, msi, take, whpCallsSince } from './support/whp-calls';

const A = msi(0, 0x41);
const B = msi(1, 0x52);

function armed(p: WhpPartition, m = A): IrqFdRoute {
  const r = p.irqfd().newIrqFdRoute();
  r.setMsi(m.address, m.data);
  r.unmask();
  return r;
}

/** An armed route masked again with one signal latched in its event: what a failed unmask must leave as it was. */
function latchedWhileMasked(p: WhpPartition): IrqFdRoute {
  const r = armed(p);
  r.mask();
  r.event.signal();
  return r;
}

/** `op` run with the next call of `call` on `model` failing with `hresult`: it must throw the typed HRESULT error naming that call. */
function failsWith(model: WhpModel, call: string, hresult: number, op: () => unknown): void {
  model.fail(call, 1, hresult);
  expect(op).toThrow(expect.objectContaining({ code: 'HRESULT', hresult, operation: call }));
}

function withPartition(model: WhpModel, fn: (p: WhpPartition) => Promise<void> | void, inFlightWaitMs?: number): () => Promise<void> {
  return async () => {
    model.reset();
    const p = fresh(model, 2, inFlightWaitMs);
    try {
      await fn(p);
    } finally {
      p.dispose();
    }
    model.assertClean();
  };
}

describe('WHP calls per operation (counted on the model)', () => {
  const full = whpModel('full');
  const noUpdate = whpModel('no-update');

  // With WHvUpdateTriggerParameters the trigger is changed in place; without it, replaced.
  test.each<[string, WhpModel, Record<string, number>, (r: IrqFdRoute, before: Event, replaced: Event[]) => void]>([
    [
      '1 call (WHvUpdateTriggerParameters) with the export; the event stays',
      full,
      { WHvUpdateTriggerParameters: 1 },
      (r, before, replaced) => {
        expect(r.event).toBe(before);
        expect(replaced).toEqual([]);
      },
    ],
    [
      '2 calls (create, then delete) without the export; the new event is announced',
      noUpdate,
      { WHvCreateTrigger: 1, WHvDeleteTrigger: 1 },
      (r, before, replaced) => {
        expect(replaced).toEqual([r.event]);
        expect(r.event).not.toBe(before);
        expect(before.disposed).toBe(true);
        expect(noUpdate.eventState(before.handle!)).toBe(-1); // closed
      },
    ],
  ])('setMsi on a live trigger: %s', (_title, model, calls, checkEvent) =>
    withPartition(model, async (p) => {
      const r = armed(p);
      const before = r.event;
      const replaced: Event[] = [];
      r.onEventReplaced((e) => replaced.push(e));
      const since = whpCallsSince(model);
      r.setMsi(B.address, B.data);
      expect(since()).toEqual(calls);
      checkEvent(r, before, replaced);
      r.event.signal();
      await p.settle();
      expect([take(p, 0), take(p, 1)]).toEqual([[], [0x52]]);
    })(),
  );

  for (const model of [full, noUpdate]) {
    test(
      `${model.variant}: mask = 1 call; unmask = 1 call, plus one WHvRequestInterrupt only for a latched signal`,
      withPartition(model, async (p) => {
        const r = armed(p);
        let since = whpCallsSince(model);
        r.mask();
        expect(since()).toEqual({ WHvDeleteTrigger: 1 });
        since = whpCallsSince(model);
        r.unmask();
        expect(since()).toEqual({ WHvCreateTrigger: 1 });
        r.mask();
        r.event.signal();
        r.event.signal();
        since = whpCallsSince(model);
        r.unmask();
        expect(since()).toEqual({ WHvCreateTrigger: 1, WHvRequestInterrupt: 1 });
        await p.settle();
        expect(take(p, 0)).toEqual([0x41]);
      }),
    );
  }

  test(
    'rejected messages cost no call: SMI, RemoteRead, ExtINT, outside 0xFEE, upper address',
    withPartition(full, (p) => {
      const r = armed(p);
      const since = whpCallsSince(full);
      const bad: Array<[number | bigint, number, string]> = [
        [A.address, 0x0241, 'SMI'],
        [A.address, 0x0341, 'RemoteRead'],
        [A.address, 0x0741, 'ExtINT'],
        [0xfed01000, 0x41, 'outside the window'],
        [(1n << 32n) | BigInt(A.address), 0x41, 'upper address'],
      ];
      for (const [address, data, what] of bad) {
        expect([what, isVirtError(thrownBy(() => r.setMsi(address, data)), 'INVALID_MSI')]).toEqual([what, true]);
        expect(() => p.requestMsi(address, data)).toThrow(expect.objectContaining({ code: 'INVALID_MSI' }));
      }
      expect((thrownBy(() => r.setMsi(A.address, 0x0241)) as Error).message).toMatch(/WHP cannot deliver smi/);
      expect(since()).toEqual({});
      expect(r.msi).toEqual({ addressLo: A.address, addressHi: 0, data: A.data });
    }),
  );
});

describe('event replacement', () => {
  const model = whpModel('no-update');

  test(
    'each replacement is announced while the old handle is still open, and the old handle is closed right after',
    withPartition(model, async (p) => {
      const r = p.irqfd().newIrqFdRoute();
      const seen: Array<{ next: bigint; oldOpen: number }> = [];
      let previous = r.event.handle!;
      r.onEventReplaced((e) => {
        seen.push({ next: e.handle!, oldOpen: model.eventState(previous) });
        previous = e.handle!;
      });
      r.setMsi(A.address, A.data); // still masked: no replacement
      expect(seen).toHaveLength(0);
      r.unmask(); // latch → trigger event
      r.setMsi(B.address, B.data); // trigger → new trigger
      r.mask(); // trigger → latch
      expect(seen).toHaveLength(3);
      expect(seen.every((s) => s.oldOpen !== -1)).toBe(true);
      expect(new Set(seen.map((s) => s.next)).size).toBe(3);
      expect(model.ledger('open_events')).toBe(1); // only the current event is open
      expect(r.event.handle).toBe(seen[2]!.next);
      await p.settle();
    }),
  );

  test(
    'an unsubscribed listener is not called; a throwing listener does not break the change',
    withPartition(model, async (p) => {
      const r = armed(p);
      const calls: string[] = [];
      const off = r.onEventReplaced(() => calls.push('a'));
      r.onEventReplaced(() => {
        throw new Error('listener bug');
      });
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      off();
      r.mask();
      expect(calls).toEqual([]);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener bug'), 'TsvmmWarning');
      warn.mockRestore();
      expect(r.masked).toBe(true);
      r.event.signal();
      r.unmask();
      await p.settle();
      expect(take(p, 0)).toEqual([0x41]);
      expect(() => r.onEventReplaced(42 as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }),
  );

  test(
    'a listener cannot change the route it is told about (typed error); a listener may dispose it, which happens once the change is done',
    withPartition(model, async (p) => {
      const r = armed(p);
      const errors: unknown[] = [];
      const off = r.onEventReplaced(() => {
        try {
          r.unmask();
        } catch (e) {
          errors.push(e);
        }
      });
      r.mask();
      expect(errors).toEqual([expect.objectContaining({ code: 'INVALID_ARGUMENT' })]);
      expect(r.masked).toBe(true);
      off();
      r.onEventReplaced(() => r.dispose());
      r.event.signal();
      r.unmask(); // the latched signal is delivered, then the route is disposed
      expect(r.disposed).toBe(true);
      await p.settle();
      expect(take(p, 0)).toEqual([0x41]);
      expect(model.ledger('open_events')).toBe(0);
    }),
  );

  for (const s of SWITCH_SETTINGS) {
    describe(s.name, () => {
      for (const variant of ['full', 'no-update'] as const) {
        const m = whpModel(variant);
        const run = (fn: (p: WhpPartition) => Promise<void>, inFlightWaitMs?: number) =>
          withPartition(
            m,
            async (p) => {
              applySettings(m, s);
              await fn(p);
            },
            inFlightWaitMs,
          );

        test(
          `${variant}: signals while masked are kept: one delivery at unmask, or consumePending once`,
          run(async (p) => {
            const r = armed(p);
            r.mask();
            r.event.signal();
            r.event.signal();
            await p.settle();
            expect(take(p, 0)).toEqual([]);
            r.unmask();
            await p.settle();
            expect(take(p, 0)).toEqual([0x41]);
            r.mask();
            r.event.signal();
            expect(r.consumePending()).toBe(true);
            expect(r.consumePending()).toBe(false);
            r.unmask();
            await p.settle();
            expect(take(p, 0)).toEqual([]);
          }),
        );

        test(
          `${variant}: a holder that signals the old event while being told of the new one (arming) loses nothing`,
          run(async (p) => {
            const r = armed(p);
            r.mask();
            let old: Event | undefined = r.event;
            r.onEventReplaced(() => {
              old?.signal(); // late: the holder still had the latch
              old = undefined;
            });
            r.unmask();
            await p.settle();
            expect(take(p, 0)).toEqual([0x41]);
            expect(r.consumePending()).toBe(false);
          }),
        );

        test(
          `${variant}: a slow hypervisor (5 ms): a signal raised just before mask, retarget or dispose is delivered once, to the message it was raised for`,
          run(async (p) => {
            m.configure('delivery_delay_ms', 5);
            const r = armed(p);
            r.event.signal();
            r.mask();
            await p.settle();
            expect([take(p, 0), r.consumePending()]).toEqual([[0x41], false]);
            r.unmask();
            r.event.signal();
            r.setMsi(B.address, B.data);
            await p.settle();
            expect([take(p, 0), take(p, 1)]).toEqual([[0x41], []]);
            r.event.signal();
            r.dispose();
            await p.settle();
            expect([take(p, 0), take(p, 1)]).toEqual([[], [0x52]]);
          }),
        );

        test(
          `${variant}: a signal in flight when the trigger is deleted (hypervisor not there yet)`,
          run(async (p) => {
            const r = armed(p);
            m.configure('hold_delivery', 1);
            r.event.signal(); // raised while armed with A, not yet taken
            r.mask();
            m.configure('hold_delivery', 0);
            await p.settle();
            if (s.deleted_event_keeps_signal) {
              // Still in the deleted trigger's event: injected once to A, the message it was raised for.
              expect(take(p, 0)).toEqual([0x41]);
            } else {
              // WHP reset it at deletion: nothing user space can see (the documented limit).
              expect(take(p, 0)).toEqual([]);
            }
            expect(r.consumePending()).toBe(false);
            r.unmask();
            await p.settle();
            expect(take(p, 0)).toEqual([]);
          }, 1), // held: waiting for the hypervisor would only time out
        );
      }
    });
  }
});

describe('failures leave the route, its event and the hypervisor as they were', () => {
  const full = whpModel('full');
  const noUpdate = whpModel('no-update');

  test(
    'unmask: WHvCreateTrigger fails → typed error, still masked, same event, signal still latched',
    withPartition(full, async (p) => {
      const r = latchedWhileMasked(p);
      const ev = r.event;
      const replaced = jest.fn();
      r.onEventReplaced(replaced);
      failsWith(full, 'WHvCreateTrigger', abi.E_INVALIDARG, () => r.unmask());
      expect([r.masked, r.event]).toEqual([true, ev]);
      expect(replaced).not.toHaveBeenCalled();
      expect(full.ledger('live_triggers')).toBe(0);
      r.unmask();
      await p.settle();
      expect(take(p, 0)).toEqual([0x41]);
    }),
  );

  test(
    'unmask: WHvRequestInterrupt of the latched signal fails → the new trigger is deleted and the signal stays latched',
    withPartition(full, async (p) => {
      const r = latchedWhileMasked(p);
      const ev = r.event;
      failsWith(full, 'WHvRequestInterrupt', 0xc035000e, () => r.unmask());
      expect([r.masked, r.event]).toEqual([true, ev]);
      expect(full.ledger('live_triggers')).toBe(0);
      expect(full.ledger('open_events')).toBe(1);
      expect(r.consumePending()).toBe(true);
    }),
  );

  test(
    'mask: WHvDeleteTrigger fails (twice) → still armed and delivering; the spare latch is closed',
    withPartition(full, async (p) => {
      const r = armed(p);
      const ev = r.event;
      full.fail('WHvDeleteTrigger', 1, abi.E_HANDLE);
      full.fail('WHvDeleteTrigger', 2, abi.E_HANDLE);
      expect(() => r.mask()).toThrow(expect.objectContaining({ code: 'HRESULT', hresult: abi.E_HANDLE }));
      expect(() => r.mask()).toThrow(expect.objectContaining({ code: 'HRESULT' }));
      expect([r.masked, r.event]).toEqual([false, ev]);
      expect(full.ledger('open_events')).toBe(1);
      r.event.signal();
      await p.settle();
      expect(take(p, 0)).toEqual([0x41]);
      r.mask();
      expect(r.masked).toBe(true);
    }),
  );

  test(
    'mask: CreateEventW fails → a typed error before WHP is called',
    withPartition(full, (p) => {
      const r = armed(p);
      full.fail('CreateEventW', 1, 0);
      const since = whpCallsSince(full);
      expect(() => r.mask()).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'CreateEventW' }));
      expect(since()).toEqual({});
      expect(r.masked).toBe(false);
    }),
  );

  test(
    'setMsi with the export: WHvUpdateTriggerParameters fails → the old target keeps delivering',
    withPartition(full, async (p) => {
      const r = armed(p);
      failsWith(full, 'WHvUpdateTriggerParameters', abi.E_INVALIDARG, () => r.setMsi(B.address, B.data));
      expect(r.msi?.data).toBe(A.data);
      r.event.signal();
      await p.settle();
      expect([take(p, 0), take(p, 1)]).toEqual([[0x41], []]);
    }),
  );

  test(
    'setMsi without the export: create fails, or delete of the old trigger fails → unchanged, no trigger leaks',
    withPartition(noUpdate, async (p) => {
      const r = armed(p);
      const ev = r.event;
      failsWith(noUpdate, 'WHvCreateTrigger', abi.E_INVALIDARG, () => r.setMsi(B.address, B.data));
      failsWith(noUpdate, 'WHvDeleteTrigger', abi.E_HANDLE, () => r.setMsi(B.address, B.data));
      expect([r.event, r.msi?.data]).toEqual([ev, A.data]);
      expect(noUpdate.ledger('live_triggers')).toBe(1);
      expect(noUpdate.ledger('open_events')).toBe(1);
      r.event.signal();
      await p.settle();
      expect([take(p, 0), take(p, 1)]).toEqual([[0x41], []]);
    }),
  );

  test(
    'route dispose: WHvDeleteTrigger fails → the trigger goes with the partition, and its event is closed after that',
    withPartition(full, (p) => {
      const r = armed(p);
      full.fail('WHvDeleteTrigger', 1, abi.E_HANDLE);
      r.dispose();
      expect(r.disposed).toBe(true);
      expect(full.ledger('open_events')).toBe(1); // closed only after WHvDeletePartition (checked by the ledger's order count)
    }),
  );

  test(
    'a holder that disposes route.event itself: the route refuses every call but dispose, and the handle is still closed exactly once',
    withPartition(full, (p) => {
      const r = armed(p);
      r.event.dispose();
      expect(() => r.mask()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      expect(() => r.event.signal()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      expect(full.ledger('open_events')).toBe(1);
      r.dispose();
      expect(full.ledger('open_events')).toBe(0);
    }),
  );

  test(
    'EXHAUSTED at maxRoutes; a disposed route frees its place',
    async () => {
      full.reset();
      const p = WhpPartition.create({ vcpus: 2, maxRoutes: 3, library: full.library });
      const irq = p.irqfd();
      const routes = [irq.newIrqFdRoute(), irq.newIrqFdRoute(), irq.newIrqFdRoute()];
      expect(() => irq.newIrqFdRoute()).toThrow(expect.objectContaining({ code: 'EXHAUSTED' }));
      routes[0]!.dispose();
      irq.newIrqFdRoute();
      p.dispose();
      full.assertClean();
    },
  );
});

