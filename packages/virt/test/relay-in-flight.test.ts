/**
 * In-flight signals on every relay platform: a signal raised while the route was armed is
 * delivered to the message it was armed with, even if the waiter reaches it after the route was
 * masked, retargeted, cleared or disposed; consumePending reports only signals raised while not armed.
 *
 * The deferred platform models a waiter thread that saw the event become ready but reaches the
 * delivery step only later (`pump()`), which is the window a real waiter thread has.
 */
import { type IrqFdRoute } from '../src';
import { type RawInjector, type RelayPlatform, type RelayRouteTable, InProcessEvent, InProcessRelayPlatform } from '../src/implement';
import { testRelay } from './support/test-relay';

const A = { address: 0xfee00000, data: 0x41 };
const B = { address: 0xfee01000, data: 0x42 };

class DeferredPlatform implements RelayPlatform {
  readonly name = 'deferred waiter';
  private readonly ready: Array<() => void> = [];
  /** Each watched event with what removes this waiter's listener from it. */
  private readonly watching = new Map<InProcessEvent, () => void>();
  constructor(
    private readonly table: RelayRouteTable,
    private readonly inject: RawInjector,
  ) {}
  createEvent(): InProcessEvent {
    return new InProcessEvent();
  }
  watch(slot: number, event: InProcessEvent): void {
    // The waiter notices readiness now and delivers later, as a thread blocked in epoll_wait does.
    this.unwatch(slot, event);
    this.watching.set(event, event.onSignal(() => this.ready.push(() => void this.table.deliver(slot, () => event.consume(), this.inject))));
  }
  unwatch(_slot: number, event: InProcessEvent): void {
    this.watching.get(event)?.();
    this.watching.delete(event);
  }
  /** The waiter reaches every readiness it saw. */
  pump(): void {
    for (const d of this.ready.splice(0)) d();
  }
  settle(): Promise<void> {
    this.pump();
    return Promise.resolve();
  }
  dispose(): void {}
  whenClosed(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.dispose](): void {}
}

type Kind = 'in-process' | 'deferred waiter';

function relay(kind: Kind) {
  const got: number[] = [];
  const inject: RawInjector = (_lo, _hi, data) => (got.push(data), true);
  let deferred: DeferredPlatform | undefined;
  const irqfd = testRelay({
    inject,
    platform: (table) => (kind === 'in-process' ? new InProcessRelayPlatform(table, inject) : (deferred = new DeferredPlatform(table, inject))),
  });
  const take = (): number[] => got.splice(0);
  const pump = (): void => deferred?.pump();
  const armed = (m = A): IrqFdRoute => {
    const r = irqfd.newIrqFdRoute();
    r.setMsi(m.address, m.data);
    r.unmask();
    return r;
  };
  return { irqfd, take, pump, armed };
}

describe.each<Kind>(['in-process', 'deferred waiter'])('relay on the %s platform', (kind) => {
  // Cut the route while a signal is in flight: the signal goes to the message armed when it was
  // raised, is not left pending, and re-arming delivers nothing more.
  it.each<[string, (r: IrqFdRoute) => void, (r: IrqFdRoute) => void]>([
    ['mask: delivered to the armed message, not reported pending', (r) => r.mask(), (r) => r.unmask()],
    ['clearMsi: delivered to the old message; nothing pending; setMsi delivers nothing more', (r) => r.clearMsi(), (r) => r.setMsi(A.address, A.data)],
  ])('signal then %s (many rounds)', (_name, cut, rearm) => {
    const { take, pump, armed } = relay(kind);
    const r = armed();
    for (let i = 0; i < 200; i++) {
      r.event.signal();
      cut(r);
      pump();
      expect(take()).toEqual([A.data]);
      expect(r.consumePending()).toBe(false);
      rearm(r);
      pump();
      expect(take()).toEqual([]);
    }
  });

  it('signal then setMsi(B): lands on A; the next signal lands on B (many rounds)', () => {
    const { take, pump, armed } = relay(kind);
    const r = armed();
    for (let i = 0; i < 200; i++) {
      const [from, to] = i % 2 ? [B, A] : [A, B];
      r.event.signal();
      r.setMsi(to.address, to.data);
      pump();
      expect(take()).toEqual([from.data]);
      r.event.signal();
      pump();
      expect(take()).toEqual([to.data]);
      r.event.signal(); // left in flight for the next round's retarget
      r.setMsi(to.address, to.data); // unchanged message: nothing to flush
      pump();
      expect(take()).toEqual([to.data]);
    }
  });


  it('signal then dispose: delivered once to the message of the disposed route', () => {
    const { take, pump, armed, irqfd } = relay(kind);
    for (let i = 0; i < 200; i++) {
      const m = i % 2 ? A : B;
      const r = armed(m);
      r.event.signal();
      r.dispose();
      const s = armed(i % 2 ? B : A); // may reuse the slot
      pump();
      expect(take()).toEqual([m.data]);
      s.dispose();
    }
    expect(irqfd.routeCount).toBe(0);
  });

  it('signals raised while not armed stay pending across a retarget of the masked route', () => {
    const { take, pump, armed } = relay(kind);
    const r = armed();
    r.mask();
    r.event.signal();
    r.setMsi(B.address, B.data);
    pump();
    expect(take()).toEqual([]);
    expect(r.consumePending()).toBe(true);
    expect(r.consumePending()).toBe(false);
  });
});

test('a failed injection while flushing at mask leaves the route armed and the signal latched for the waiter', () => {
  let fail = false;
  const got: number[] = [];
  let deferred: DeferredPlatform | undefined;
  const inject: RawInjector = (_lo, _hi, data) => {
    if (fail) throw new Error('inject failed');
    got.push(data);
    return true;
  };
  const irqfd = testRelay({ inject, platform: (table) => (deferred = new DeferredPlatform(table, inject)) });
  const r = irqfd.newIrqFdRoute();
  r.setMsi(A.address, A.data);
  r.unmask();
  r.event.signal();
  fail = true;
  expect(() => r.mask()).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  expect(r.masked).toBe(false);
  fail = false;
  deferred!.pump();
  expect(got).toEqual([A.data]);
  expect(r.consumePending()).toBe(false);
});
