/**
 * A relay route whose event the VMM disposes itself (`route.event.dispose()`) while a copy of the
 * number keeps the eventfd's file open: the route must stop the epoll worker watching it first,
 * while the number is still its own. Otherwise the registration outlives the number (epoll keys it
 * by file), no EPOLL_CTL_DEL can name it any more, and every signal on the copy wakes the worker,
 * which finds the slot unwatched, reads nothing, and is woken again by level-triggered epoll.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { type EventFdEvent } from '@tsvmm/virt';
import { libcSyscalls } from '../src';
import { REC_WORDS, recordingInjectorSpec } from '../src/testing';
import { epollRelay } from './support/epoll-relay';

/** The targets registered in the epoll instance that also watches `controlFd` (the platform's). */
function epollTargets(controlFd: number): number[] {
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:[eventpoll]') continue;
    const tfds = [...readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/^tfd:\s*(\d+)/gm)].map((m) => Number(m[1]));
    if (tfds.includes(controlFd)) return tfds.filter((t) => t !== controlFd).sort((a, b) => a - b);
  }
  throw new Error('the platform epoll instance was not found');
}

test("disposing an armed relay route's event removes it from the epoll set first; a copy's signals reach nobody", async () => {
  const shared = new SharedArrayBuffer(REC_WORDS * 4);
  const { irqfd, platform } = epollRelay({ injector: recordingInjectorSpec(shared) }, 4);
  const sys = libcSyscalls();
  let copy = -1;
  try {
    const route = irqfd.newIrqFdRoute(); // slot 0
    const other = irqfd.newIrqFdRoute(); // slot 1
    for (const r of [route, other]) {
      r.setMsi(0xfee00000, 0x41);
      r.unmask();
    }
    const own = (route.event as unknown as { ownFd(): number }).ownFd();
    const otherOwn = (other.event as unknown as { ownFd(): number }).ownFd();
    expect(epollTargets(platform.controlEventFd)).toEqual([own, otherOwn].sort((a, b) => a - b));
    copy = sys.dup!((route.event as EventFdEvent).fd);
    route.event.dispose();
    // Only the other route is watched: the disposed event's registration went while its number was ours.
    expect(epollTargets(platform.controlEventFd)).toEqual([otherOwn]);
    expect(irqfd.routeCount).toBe(1);
    sys.write(copy, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8);
    await irqfd.settle();
    expect(irqfd.table.delivered(0)).toBe(0);
    // dispose() afterwards returns, and the other route still delivers.
    route.dispose();
    other.event.signal();
    await irqfd.settle();
    expect(irqfd.table.delivered(1)).toBe(1);
  } finally {
    if (copy >= 0) sys.close(copy);
    irqfd.dispose();
    await irqfd.whenClosed();
  }
});
