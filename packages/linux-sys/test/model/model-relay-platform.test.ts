/**
 * The model relay waiter shared by the KVM and mshv models: it wakes like level-triggered epoll
 * (an eventfd already readable when watched is delivered at once), stops watching on unwatch and
 * on disposal, and frees the backend's injector once disposed. Deferred, it delivers only inside
 * settle().
 */
import type { Event } from '@tsvmm/virt';
import type { RelayRouteTable } from '@tsvmm/virt/implement';
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
  it('delivers at once an eventfd already readable when watched (level-triggered), and not one that is not', () => {
    const readable = fixture(1n);
    readable.platform.watch(3, readable.event);
    expect(readable.deliveries).toEqual([3]);
    const idle = fixture(0n);
    idle.platform.watch(3, idle.event);
    expect(idle.deliveries).toEqual([]);
    idle.watching.get(7)!();
    expect({ deliveries: idle.deliveries, counted: idle.platform.deliveries }).toEqual({ deliveries: [3], counted: 1 });
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
