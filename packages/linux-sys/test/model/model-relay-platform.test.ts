/**
 * The model relay waiter shared by the KVM and mshv models: it wakes like level-triggered epoll
 * (an eventfd already readable when watched is delivered once the caller returns, as a worker
 * waiting for the slot lock would), stops watching on unwatch and on disposal, and frees the
 * backend's injector once disposed. Deferred, it delivers only inside settle(). With `events` it
 * makes a relay-mode irqfd's eventfds, and refuses what the epoll relay refuses.
 */
import { type Event, isVirtError } from '@tsvmm/virt';
import { FLAG_HAS_MSI, RelayRouteTable } from '@tsvmm/virt/implement';
import { EventFd, libcSyscalls } from '../../src';
import { ModelRelayPlatform, type ModelEventFdWatch } from '../../src/testing';

function fixture(counter: bigint, deferred = false) {
  const deliveries: number[] = [];
  const watching = new Map<number, () => void>();
  const freed: boolean[] = [];
  const eventfds: ModelEventFdWatch = {
    watchEventFd(fd, ready) {
      watching.set(fd, ready);
      return () => void watching.delete(fd);
    },
    counter: (fd) => (fd === 7 ? counter : undefined),
  };
  const table = { deliver: (slot: number) => (deliveries.push(slot), 'delivered') } as unknown as RelayRouteTable;
  const event = { ownFd: () => 7, consume: () => counter } as unknown as Event;
  const platform = new ModelRelayPlatform('test waiter', table, eventfds, { inject: () => true, free: () => void freed.push(true) }, { deferred });
  return { platform, deliveries, watching, freed, event };
}

describe('ModelRelayPlatform', () => {
  it('delivers an eventfd already readable when watched (level-triggered) once the caller returns, and not one that is not', async () => {
    const readable = fixture(1n);
    readable.platform.watch(3, readable.event);
    expect(readable.deliveries).toEqual([]);
    await Promise.resolve();
    expect(readable.deliveries).toEqual([3]);
    const idle = fixture(0n);
    idle.platform.watch(3, idle.event);
    await Promise.resolve();
    expect(idle.deliveries).toEqual([]);
    idle.watching.get(7)!();
    expect({ deliveries: idle.deliveries, counted: idle.platform.deliveries }).toEqual({ deliveries: [3], counted: 1 });
  });

  it('a watch made under the slot lock (as a relay route arms) returns; the waiter delivers after the lock is released', async () => {
    const table = new RelayRouteTable(4);
    let counter = 1n;
    const injected: number[] = [];
    const eventfds: ModelEventFdWatch = { watchEventFd: () => () => undefined, counter: () => counter };
    const consume = (): number => {
      const n = Number(counter);
      counter = 0n;
      return n;
    };
    const event = { ownFd: () => 7, consume } as unknown as Event;
    const platform = new ModelRelayPlatform('test waiter', table, eventfds, { inject: (_lo, _hi, data) => (injected.push(data), true) });
    table.lock(2);
    table.setMsi(2, 0xfee00000, 0, 0x41);
    table.setFlags(2, FLAG_HAS_MSI);
    platform.watch(2, event); // a waiter delivering here would wait on the lock this thread holds, forever
    table.unlock(2);
    await Promise.resolve();
    expect({ injected, counter, delivered: table.delivered(2) }).toEqual({ injected: [0x41], counter: 0n, delivered: 1 });
  });

  it('a readable eventfd unwatched (or watched again) before the waiter runs is not delivered by the stale wakeup', async () => {
    const f = fixture(1n);
    f.platform.watch(3, f.event);
    f.platform.unwatch(3);
    await Promise.resolve();
    expect(f.deliveries).toEqual([]);
    const g = fixture(1n);
    g.platform.watch(3, g.event);
    g.platform.watch(3, g.event);
    await Promise.resolve();
    expect(g.deliveries).toEqual([3]);
  });

  it('with events, makes eventfds on those system calls; without, createEvent throws (routes bring their own)', () => {
    expect(() => fixture(0n).platform.createEvent()).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('without `events`') }));
    const table = new RelayRouteTable(1);
    const platform = new ModelRelayPlatform('test waiter', table, { watchEventFd: () => () => undefined, counter: () => 0n }, { inject: () => true }, { events: libcSyscalls() });
    const e = platform.createEvent();
    expect(e).toBeInstanceOf(EventFd);
    e.dispose();
    platform.dispose();
    const after = (() => {
      try {
        platform.createEvent();
      } catch (err) {
        return err;
      }
    })();
    expect(isVirtError(after) && after.code).toBe('DISPOSED');
  });

  it('refuses, as the epoll relay does, to watch a disposed event or on a disposed platform; dispose is idempotent', () => {
    const f = fixture(0n);
    const disposedEvent = { ...f.event, ownFd: () => 7, disposed: true } as unknown as Event;
    const code = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        return isVirtError(err) ? err.code : String(err);
      }
      return 'returned';
    };
    expect(code(() => f.platform.watch(3, disposedEvent))).toBe('DISPOSED');
    expect(f.watching.size).toBe(0);
    f.platform.dispose();
    f.platform.dispose();
    expect(f.freed).toEqual([true]);
    expect(code(() => f.platform.watch(3, f.event))).toBe('DISPOSED');
  });

  it('stops watching on unwatch and on disposal, and frees the injector once disposed', () => {
    const f = fixture(0n);
    f.platform.watch(3, f.event);
    expect({ watched: f.platform.watchedCount, model: f.watching.size }).toEqual({ watched: 1, model: 1 });
    f.platform.unwatch(3);
    expect({ watched: f.platform.watchedCount, model: f.watching.size }).toEqual({ watched: 0, model: 0 });
    f.platform.watch(3, f.event);
    f.platform[Symbol.dispose]();
    expect({ watched: f.platform.watchedCount, model: f.watching.size, freed: f.freed }).toEqual({ watched: 0, model: 0, freed: [true] });
  });

  it('deferred: delivers nothing until settle(), then every readable watched eventfd once; nothing after unwatch', async () => {
    const f = fixture(1n, true);
    f.platform.watch(3, f.event);
    expect({ deliveries: f.deliveries, model: f.watching.size, watched: f.platform.watchedCount }).toEqual({ deliveries: [], model: 0, watched: 1 });
    await f.platform.settle();
    expect(f.deliveries).toEqual([3]);
    f.platform.unwatch(3);
    await f.platform.settle();
    expect({ deliveries: f.deliveries, watched: f.platform.watchedCount }).toEqual({ deliveries: [3], watched: 0 });
    const idle = fixture(0n, true);
    idle.platform.watch(3, idle.event);
    await idle.platform.settle();
    expect(idle.deliveries).toEqual([]);
  });
});
