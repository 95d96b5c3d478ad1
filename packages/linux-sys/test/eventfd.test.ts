import { readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { isVirtError } from '@tsvmm/virt';
import { EMFILE, EventFd, O_CLOEXEC, POLLFD, POLLIN, libcSyscalls } from '../src';
import { encodeStruct, readField } from '@tsvmm/ffi';
import { FaultInjector } from '../src/testing';

function fdFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  return parseInt(/flags:\s+(\d+)/.exec(info)![1]!, 8);
}

function readable(fd: number): boolean {
  const buf = new Uint8Array(POLLFD.size);
  const view = new DataView(buf.buffer);
  encodeStruct(POLLFD, view, 0, { fd, events: POLLIN });
  expect(libcSyscalls().poll(buf, 1, 0)).toBeGreaterThanOrEqual(0);
  return ((readField(view, 0, POLLFD.fields.revents) as number) & POLLIN) !== 0;
}

describe('EventFd', () => {
  it('counts signals, consumes without blocking, is close-on-exec and non-blocking', () => {
    const e = new EventFd();
    expect(e.kind).toBe('eventfd');
    expect(readlinkSync(`/proc/self/fd/${e.fd}`)).toBe('anon_inode:[eventfd]');
    expect(fdFlags(e.fd) & O_CLOEXEC).toBe(O_CLOEXEC);
    expect(e.consume()).toBe(0);
    expect(readable(e.fd)).toBe(false);
    e.signal();
    e.signal();
    expect(readable(e.fd)).toBe(true);
    expect(e.consume()).toBe(2);
    expect(e.consume()).toBe(0);
    e.dispose();
  });

  it('dispose closes the fd, is idempotent, and signal afterwards is DISPOSED', () => {
    const before = readdirSync('/proc/self/fd').length;
    const e = new EventFd();
    expect(readdirSync('/proc/self/fd').length).toBe(before + 2); // its own fd and the duplicate handed out
    e.dispose();
    e[Symbol.dispose]();
    expect(e.disposed).toBe(true);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
    expect(() => e.signal()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(e.consume()).toBe(0);
  });

  it('a failing eventfd() becomes a typed error that says what to do', () => {
    const sys = new FaultInjector().fail('eventfd', EMFILE);
    let err: unknown;
    try {
      new EventFd(sys);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, 'SYSCALL')).toBe(true);
    expect((err as Error).message).toMatch(/EMFILE.*RLIMIT_NOFILE/);
  });
});
