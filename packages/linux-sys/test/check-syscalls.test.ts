import { isVirtError } from '@tsvmm/virt';
import { type Syscalls, checkSyscalls, libcSyscalls } from '../src';
import { FaultInjector } from '../src/testing';

test('the real system calls and the fault injector are whole Syscalls', () => {
  const libc = libcSyscalls();
  expect(checkSyscalls('op', 'sys', libc)).toBe(libc);
  const injector = new FaultInjector();
  expect(checkSyscalls('op', 'sys', injector)).toBe(injector);
});

test('every required call is checked, and a wrong optional one', () => {
  const required = ['open', 'close', 'ioctl', 'read', 'write', 'eventfd', 'poll', 'epollCreate', 'epollCtl', 'epollWait'] satisfies (keyof Syscalls)[];
  const whole = Object.fromEntries(required.map((k) => [k, () => 0]));
  expect(checkSyscalls('op', 'sys', whole)).toBe(whole);
  for (const k of [...required, 'dup', 'sameFile']) {
    let err: unknown;
    try {
      checkSyscalls('Backend.create', 'sys', { ...whole, [k]: 7 });
    } catch (e) {
      err = e;
    }
    expect([k, isVirtError(err, 'INVALID_ARGUMENT') && (err as Error).message.includes(`${k} (7 (0x7))`)]).toEqual([k, true]);
  }
});
