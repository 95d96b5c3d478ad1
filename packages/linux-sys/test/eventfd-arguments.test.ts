import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { EventFd } from '../src';
import { FaultInjector } from '../src/testing';

describe('new EventFd(sys): a sys that is not Syscalls is INVALID_ARGUMENT before any call', () => {
  it.each([
    ['a string', 'x'],
    ['null', null],
    ['an empty object', {}],
    ['an object whose eventfd is not a function', { eventfd: 1 }],
  ])('%s', (_label, sys) => {
    const e = thrownBy(() => new EventFd(sys as never, 'Test.create'));
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'Test.create']);
    expect(isVirtError(e) && e.detail).toMatch(/^sys must /);
  });

  it('a whole Syscalls makes events, each one a new eventfd, and is checked once, not per event', () => {
    const sys = new FaultInjector();
    let reads = 0;
    const counted = new Proxy(sys, {
      get(target, key, receiver) {
        if (key === 'epollWait') reads++; // read only by the check: an EventFd never waits
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const events = [new EventFd(counted), new EventFd(counted), new EventFd(counted)];
    try {
      expect(new Set(events.map((e) => e.fd)).size).toBe(3);
      expect(reads).toBe(1);
    } finally {
      for (const e of events) e.dispose();
    }
  });
});
