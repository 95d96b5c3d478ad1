import { VirtError, encodeMsi } from '../src';
import { FLAG_HAS_MSI, RelayRouteTable, InProcessEvent, InProcessRelayPlatform } from '../src/implement';
import type { RawInjector, RelayPlatform } from '../src/implement';
import { testRelay } from './support/test-relay';

interface Injected {
  lo: number;
  hi: number;
  data: number;
}

function relay(opts: { maxRoutes?: number; failInject?: () => boolean } = {}) {
  const injected: Injected[] = [];
  const calls: string[] = [];
  const closed = Promise.resolve();
  const inject: RawInjector = (lo, hi, data) => {
    if (opts.failInject?.()) throw new VirtError('SYSCALL', { operation: 'inject', detail: 'injected failure', errno: 5 });
    injected.push({ lo, hi, data });
    return true;
  };
  const irqfd = testRelay({
    maxRoutes: opts.maxRoutes ?? 8,
    inject,
    reason: 'unit test',
    platform: (table) => {
      const inner = new InProcessRelayPlatform(table, inject);
      const p: RelayPlatform = {
        name: 'recording',
        createEvent: () => inner.createEvent(),
        watch: (slot, e) => (calls.push(`watch ${slot}`), inner.watch(slot, e)),
        unwatch: (slot, e) => (calls.push(`unwatch ${slot}`), inner.unwatch(slot, e)),
        settle: () => inner.settle(),
        dispose: () => calls.push('dispose'),
        whenClosed: () => (calls.push('whenClosed'), closed),
        [Symbol.dispose]: () => undefined,
      };
      return p;
    },
  });
  return { irqfd, injected, calls, closed };
}

const msi = (dest: number, vector: number) => encodeMsi({ destinationId: dest, vector });

test('capabilities say emulated, with the reason and the platform', () => {
  const { irqfd } = relay();
  expect(irqfd.capabilities).toMatchObject({ mediation: 'emulated', routingTable: false, stableEvent: true, maxRoutes: 8 });
  expect(irqfd.capabilities.mechanism).toMatch(/recording.*unit test/);
  expect(Object.isFrozen(irqfd.capabilities)).toBe(true);
});

test('the platform watches a route only while it is armed', () => {
  const { irqfd, calls } = relay();
  const r = irqfd.newIrqFdRoute();
  const m = msi(1, 0x41);
  r.setMsi(m.addressLo, m.data);
  expect(calls).toEqual([]);
  r.unmask();
  expect(calls).toEqual(['watch 0']);
  r.setMsi(msi(0, 0x42).addressLo, 0x42); // retarget while armed: no re-watch
  expect(calls).toEqual(['watch 0']);
  r.mask();
  expect(calls).toEqual(['watch 0', 'unwatch 0']);
  r.unmask();
  r.clearMsi();
  expect(calls).toEqual(['watch 0', 'unwatch 0', 'watch 0', 'unwatch 0']);
  r.dispose();
  irqfd.dispose();
  expect(calls.at(-1)).toBe('dispose');
});

test("whenClosed waits for the platform's waiter: it settles only after the platform's promise", async () => {
  let release: () => void = () => undefined;
  const waiter = new Promise<void>((resolve) => (release = resolve));
  const irqfd = testRelay({
    platform: (t) => {
      const p = new InProcessRelayPlatform(t, () => true);
      p.whenClosed = () => waiter;
      return p;
    },
  });
  irqfd.dispose();
  const order: string[] = [];
  const closed = irqfd.whenClosed().then(() => order.push('irqfd closed'));
  // Several turns of the microtask queue: the irqfd's promise must still wait for the platform's.
  for (let i = 0; i < 5; i++) await Promise.resolve();
  order.push('platform closes');
  release();
  await closed;
  expect(order).toEqual(['platform closes', 'irqfd closed']);
});

test('signals inject the current MSI; arming delivers a latched signal once', () => {
  const { irqfd, injected } = relay();
  const r = irqfd.newIrqFdRoute();
  r.event.signal();
  r.event.signal();
  r.setMsi(0xfee01000, 0x41);
  expect(injected).toEqual([]);
  r.unmask();
  expect(injected).toEqual([{ lo: 0xfee01000, hi: 0, data: 0x41 }]);
  r.event.signal();
  expect(injected).toHaveLength(2);
  expect(irqfd.table.delivered(0)).toBe(1); // the waiter's delivery; arm-time delivery is the caller's
});

test('a failed injection at arm time leaves the route as it was and keeps the signal latched', () => {
  let fail = true;
  const { irqfd, injected, calls } = relay({ failInject: () => fail });
  const r = irqfd.newIrqFdRoute();
  r.setMsi(0xfee01000, 0x41);
  r.event.signal();
  expect(() => r.unmask()).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'inject' }));
  expect(r.masked).toBe(true);
  expect(calls).toEqual(['watch 0', 'unwatch 0']);
  fail = false;
  r.unmask();
  expect(injected).toEqual([{ lo: 0xfee01000, hi: 0, data: 0x41 }]);
  expect(r.consumePending()).toBe(false);
});

test('a failed injection in the waiter is counted, and the route keeps working', () => {
  let fail = false;
  const { irqfd, injected } = relay({ failInject: () => fail });
  const r = irqfd.newIrqFdRoute();
  r.setMsi(0xfee01000, 0x41);
  r.unmask();
  fail = true;
  r.event.signal();
  expect(irqfd.table.failed(0)).toBe(1);
  fail = false;
  r.event.signal();
  expect(injected).toHaveLength(1);
});

test('slots are reused lowest-first and reset between owners', () => {
  const { irqfd, injected } = relay({ maxRoutes: 2 });
  const a = irqfd.newIrqFdRoute();
  const b = irqfd.newIrqFdRoute();
  expect(() => irqfd.newIrqFdRoute()).toThrow(expect.objectContaining({ code: 'EXHAUSTED' }));
  a.setMsi(0xfee00000, 0x30);
  a.unmask();
  a.dispose();
  const c = irqfd.newIrqFdRoute();
  expect(c.masked).toBe(true);
  expect(c.msi).toBeUndefined();
  c.event.signal();
  expect(injected).toEqual([]);
  b.dispose();
  c.dispose();
  expect(irqfd.routeCount).toBe(0);
});

test('the route table delivers only for armed slots, under the slot lock', () => {
  const t = new RelayRouteTable(4);
  const consume = jest.fn(() => 1);
  const inject = jest.fn(() => true);
  expect(t.deliver(1, consume, inject)).toBe('not-armed');
  expect(consume).not.toHaveBeenCalled();
  t.lock(1);
  t.setMsi(1, 0xfee00000, 0, 0x41);
  t.setFlags(1, 1);
  t.unlock(1);
  expect(t.deliver(1, consume, inject)).toBe('delivered');
  expect(inject).toHaveBeenCalledWith(0xfee00000, 0, 0x41);
  expect(t.deliver(1, () => 0, inject)).toBe('idle');
  expect(t.deliver(1, () => 1, () => false)).toBe('blocked');
  const shared = new RelayRouteTable(4, t.buffer);
  expect(shared.flags(1)).toBe(1);
  expect(shared.delivered(1)).toBe(2);
});

test('an in-process event counts signals and refuses use after dispose', () => {
  const e = new InProcessEvent();
  e.signal();
  e.signal();
  expect(e.consume()).toBe(2);
  expect(e.consume()).toBe(0);
  expect(e.fd).toBeUndefined();
  e.dispose();
  expect(e.disposed).toBe(true);
  expect(() => e.signal()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
});

test('a disposed in-process platform stops delivering, as a waiter that exits does, and refuses new events and watches', () => {
  const table = new RelayRouteTable(4);
  const injected: number[] = [];
  const platform = new InProcessRelayPlatform(table, (_lo, _hi, data) => (injected.push(data), true));
  const watched = platform.createEvent();
  const m = msi(0, 0x51);
  table.lock(0);
  table.setMsi(0, m.addressLo, m.addressHi, m.data);
  table.setFlags(0, FLAG_HAS_MSI); // an MSI and not masked: armed
  table.unlock(0);
  platform.watch(0, watched);
  watched.signal();
  expect(injected).toEqual([0x51]);
  platform.dispose();
  platform.dispose();
  watched.signal();
  expect(injected).toEqual([0x51]);
  expect(watched.consume()).toBe(1); // latched in its event, not lost
  expect(() => platform.createEvent()).toThrow(expect.objectContaining({ code: 'DISPOSED', operation: 'RelayPlatform.createEvent' }));
  expect(() => platform.watch(0, watched)).toThrow(expect.objectContaining({ code: 'DISPOSED', operation: 'RelayPlatform.watch' }));
});

test('an in-process platform refuses to watch a disposed event', () => {
  const platform = new InProcessRelayPlatform(new RelayRouteTable(1), () => true);
  const e = platform.createEvent();
  e.dispose();
  expect(() => platform.watch(0, e)).toThrow(expect.objectContaining({ code: 'DISPOSED', operation: 'RelayPlatform.watch' }));
});

test('an event watched by two in-process platforms keeps delivering through the one that still watches it, whichever leaves', () => {
  const armed = (t: RelayRouteTable, data: number): RelayRouteTable => {
    const m = msi(0, data);
    t.lock(0);
    t.setMsi(0, m.addressLo, m.addressHi, m.data);
    t.setFlags(0, FLAG_HAS_MSI);
    t.unlock(0);
    return t;
  };
  for (const leaving of ['first', 'second'] as const) {
    for (const how of ['unwatch', 'dispose'] as const) {
      const injected: number[] = [];
      const first = new InProcessRelayPlatform(armed(new RelayRouteTable(1), 0x51), (_lo, _hi, data) => (injected.push(data), true));
      const second = new InProcessRelayPlatform(armed(new RelayRouteTable(1), 0x52), (_lo, _hi, data) => (injected.push(data), true));
      const e = first.createEvent();
      first.watch(0, e);
      second.watch(0, e);
      // Both watch: one signal is delivered once, by the first to read it (as two epoll sets on one eventfd).
      e.signal();
      expect([leaving, how, injected]).toEqual([leaving, how, [0x51]]);
      const [gone, stays] = leaving === 'first' ? [first, second] : [second, first];
      if (how === 'unwatch') gone.unwatch(0, e);
      else gone.dispose();
      e.signal();
      expect([leaving, how, injected]).toEqual([leaving, how, [0x51, leaving === 'first' ? 0x52 : 0x51]]);
      stays.unwatch(0, e);
      e.signal();
      expect([leaving, how, injected.length, e.consume()]).toEqual([leaving, how, 2, 1]);
    }
  }
});
