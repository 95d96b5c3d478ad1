import { existsSync } from 'node:fs';
import { EBUSY, EINVAL, EventFd, defineIoctl } from '../src';

/** Any ioctl does: on fd -1 the kernel answers EBADF. */
const FIONREAD = defineIoctl('FIONREAD', 0x541b);
import { FaultInjector } from '../src/testing';
import { main } from '../examples/eventfd';

describe('FaultInjector', () => {
  it('records every call and fails the nth matching one with the chosen errno', () => {
    const sys = new FaultInjector();
    sys.fail(FIONREAD, EINVAL, { nth: 2 });
    expect(sys.ioctl(-1, FIONREAD, 0)).toBe(-9); // real call: EBADF
    expect(sys.ioctl(-1, FIONREAD, 0)).toBe(-EINVAL); // injected
    expect(sys.ioctl(-1, FIONREAD, 0)).toBe(-9);
    expect(sys.log.map((r) => [r.label, r.injected])).toEqual([
      ['FIONREAD', false],
      ['FIONREAD', true],
      ['FIONREAD', false],
    ]);
    expect(sys.count('FIONREAD')).toBe(3);
  });

  it('failStep fails the call at that index from now, whatever it is', () => {
    const sys = new FaultInjector();
    const e = new EventFd(sys);
    sys.failStep(1, EBUSY);
    const mark = sys.mark();
    e.signal();
    expect(() => e.signal()).toThrow(expect.objectContaining({ code: 'BUSY' }));
    e.signal();
    expect(sys.callsSince(mark).map((r) => r.injected)).toEqual([false, true, false]);
    expect(e.consume()).toBe(2);
    e.dispose();
  });

  it('an injected close failure still closes the fd (as Linux does)', () => {
    const sys = new FaultInjector().fail('close', EINVAL);
    const fd = sys.eventfd(0, 0);
    expect(sys.close(fd)).toBe(-EINVAL);
    expect(existsSync(`/proc/self/fd/${fd}`)).toBe(false);
  });

  it('the README example runs', () => {
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      main();
    } finally {
      log.mockRestore();
    }
    expect(lines[0]).toBe('eventfd open, consumed 2 signals, then 0');
    expect(lines).toContain('injected: BUSY error');
  });
});
