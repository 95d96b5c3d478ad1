import { existsSync } from 'node:fs';
import { EBUSY, EINVAL, EventFd, defineIoctl } from '../src';

/** Any ioctl does: on fd -1 the kernel answers EBADF. */
const FIONREAD = defineIoctl('FIONREAD', 0x541b);
import { FaultInjector, ForwardingSyscalls } from '../src/testing';
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

  it("forwards the members of its inner calls that it lacks (a model's entry points), bound to the inner object, neither logged nor failed; its own members win", () => {
    class Model extends ForwardingSyscalls {
      readonly hazards: string[] = ['one'];
      eois = 0;
      modelGuestEoi(vmFd: number, vcpuId: number, vector: number): boolean {
        this.eois++;
        return vmFd === 3 && vcpuId === 1 && vector === 0x61;
      }
      // A name the injector has too: the injector's own is what a caller gets.
      mark(): number {
        return -1;
      }
    }
    const model = new Model(new FaultInjector());
    const sys = new FaultInjector(model).fail(() => true, EINVAL, { times: 100 });
    const seen = sys as unknown as Model;
    expect('modelGuestEoi' in sys).toBe(true);
    expect('noSuchMember' in sys).toBe(false);
    const eoi = seen.modelGuestEoi;
    expect(eoi(3, 1, 0x61)).toBe(true); // detached: bound to the model, not to the injector
    expect(model.eois).toBe(1);
    expect(seen.hazards).toBe(model.hazards);
    expect(sys.mark()).toBe(0);
    expect(sys.log).toEqual([]);
    // The injector's own calls still log and fail as before.
    expect(sys.ioctl(-1, FIONREAD, 0)).toBe(-EINVAL);
    expect(sys.log.map((r) => r.label)).toEqual(['FIONREAD']);
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
