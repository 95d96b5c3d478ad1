/**
 * In-flight signals on the epoll relay: a signal raised while a route is armed is delivered to the
 * message it was armed with, even when the worker reaches it only after mask(), setMsi(),
 * clearMsi() or dispose(); consumePending() reports only signals raised while not armed.
 */
import { type IrqFdRoute } from '@tsvmm/virt';
import type { RelayIrqFd } from '@tsvmm/virt/implement';
import { REC_COUNT, REC_DATA } from '../src/testing';
import { relaysStoppedAfterEach } from './support/epoll-relay';

const A = { address: 0xfee00000, data: 0x41 };
const B = { address: 0xfee01000, data: 0x42 };
const ROUNDS = 150;

describe('EpollRelayPlatform: a signal in flight goes to the message it was raised under', () => {
  const relays = relaysStoppedAfterEach();
  // Each test's irqfd, disposed after it whatever it asserted (its routes' eventfds with it).
  const irqfds: RelayIrqFd[] = [];
  afterEach(() => {
    for (const irqfd of irqfds.splice(0)) irqfd.dispose();
  });

  function makeRelay() {
    const main: number[] = []; // data of each main-thread injection
    const { irqfd, worker } = relays.recording(8, (_lo, _hi, data) => (main.push(data), true));
    let seenWorker = 0;
    let seenMain = 0;
    /** The data of every injection since the last call (the worker keeps only its last message). */
    const take = (): number[] => {
      const n = Atomics.load(worker, REC_COUNT) - seenWorker;
      seenWorker += n;
      const fromWorker = n === 0 ? [] : [...Array<number>(n - 1).fill(-1), Atomics.load(worker, REC_DATA)];
      const fromMain = main.slice(seenMain);
      seenMain = main.length;
      return [...fromWorker, ...fromMain];
    };
    irqfds.push(irqfd);
    return { irqfd, take };
  }

  const armedOn = (irqfd: RelayIrqFd, m: { address: number; data: number }): IrqFdRoute => {
    const r = irqfd.newIrqFdRoute();
    r.setMsi(m.address, m.data);
    r.unmask();
    return r;
  };

  it('the reported sequence: signal, mask → delivered to A (not pending); unmask, signal, setMsi(B) → lands on A', async () => {
    const { irqfd, take } = makeRelay();
    const r = armedOn(irqfd, A);
    await irqfd.settle();
    for (let i = 0; i < ROUNDS; i++) {
      r.event.signal();
      r.mask();
      await irqfd.settle();
      expect(take()).toEqual([A.data]);
      expect(r.consumePending()).toBe(false);
      r.unmask();
      r.event.signal();
      r.setMsi(B.address, B.data);
      await irqfd.settle();
      expect(take()).toEqual([A.data]);
      r.setMsi(A.address, A.data);
      await irqfd.settle();
      expect(take()).toEqual([]);
    }
  });

  it('clearMsi with a signal in flight: delivered to the old message, nothing pending', async () => {
    const { irqfd, take } = makeRelay();
    const r = armedOn(irqfd, A);
    for (let i = 0; i < ROUNDS; i++) {
      r.event.signal();
      r.clearMsi();
      await irqfd.settle();
      expect(take()).toEqual([A.data]);
      expect(r.consumePending()).toBe(false);
      r.setMsi(A.address, A.data);
      await irqfd.settle();
      expect(take()).toEqual([]);
    }
  });

  it('dispose with a signal in flight: delivered once to the route message', async () => {
    const { irqfd, take } = makeRelay();
    for (let i = 0; i < ROUNDS; i++) {
      const r = armedOn(irqfd, i % 2 ? A : B);
      r.event.signal();
      r.dispose();
      await irqfd.settle();
      expect(take()).toEqual([i % 2 ? A.data : B.data]);
    }
  });

  it('a signal raised while masked is pending, never delivered by a later unrelated retarget', async () => {
    const { irqfd, take } = makeRelay();
    const r = armedOn(irqfd, A);
    for (let i = 0; i < 40; i++) {
      r.mask();
      r.event.signal();
      r.setMsi(B.address, B.data);
      await irqfd.settle();
      expect(take()).toEqual([]);
      expect(r.consumePending()).toBe(true);
      r.setMsi(A.address, A.data);
      r.unmask();
    }
  });
});
