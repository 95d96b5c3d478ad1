/**
 * A kernel model's system calls take arguments of the C call's types: a wrong type (a string, NaN, a
 * fraction, a number outside `int`, a negative length or initval, a buffer that is not a
 * Uint8Array, a callback that is not a function) is INVALID_ARGUMENT before anything changes, while a
 * descriptor number of the right type that names nothing stays the kernel's -EBADF.
 */
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { EBADF, type IoctlDef } from '../../src';
import { ModelKernel } from '../../src/testing';

/** The base alone: no device of its own. */
class BareKernel extends ModelKernel<{ kind: 'dev' }> {
  open(_path: string, _flags: number): number {
    return -2;
  }
  ioctl(_fd: number, _request: IoctlDef, _arg?: number | Uint8Array): number {
    return -25;
  }
}

const BAD_FDS: unknown[] = ['3', Number.NaN, 3.5, 2 ** 31, undefined, null, 3n];

/** INVALID_ARGUMENT from `operation`, naming `name`, with the model's descriptors as they were. */
function expectRefused(k: BareKernel, call: () => unknown, operation: string, name: string): void {
  const open = k.files.size;
  const counters = [...k.files.entries()].map(([fd]) => k.files.counter(fd));
  const e = thrownBy(call);
  expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', operation]);
  expect(isVirtError(e) && e.detail).toContain(name);
  expect(k.files.size).toBe(open);
  expect([...k.files.entries()].map(([fd]) => k.files.counter(fd))).toEqual(counters);
}

describe('ModelKernel argument types', () => {
  it('eventfd: initval must be an unsigned int and flags an int', () => {
    const k = new BareKernel(100);
    for (const initval of [-1, Number.NaN, '1', 1.5, 2 ** 32]) expectRefused(k, () => k.eventfd(initval as never, 0), 'ModelKernel.eventfd', 'initval');
    for (const flags of ['0', Number.NaN, 2 ** 31]) expectRefused(k, () => k.eventfd(0, flags as never), 'ModelKernel.eventfd', 'flags');
    const fd = k.eventfd(0xffff_ffff, 0);
    expect(k.files.counter(fd)).toBe(0xffff_ffffn);
  });

  it('descriptor arguments must be integers in the range of int; a closed or negative number is -EBADF', () => {
    const k = new BareKernel(100);
    const fd = k.eventfd(0, 0);
    for (const bad of BAD_FDS) {
      expectRefused(k, () => k.close(bad as never), 'ModelKernel.close', 'fd');
      expectRefused(k, () => k.dup(bad as never), 'ModelKernel.dup', 'fd');
      expectRefused(k, () => k.sameFile(fd, bad as never), 'ModelKernel.sameFile', 'b');
      expectRefused(k, () => k.sameFile(bad as never, fd), 'ModelKernel.sameFile', 'a');
      expectRefused(k, () => k.fileRefs(bad as never), 'ModelKernel.fileRefs', 'fd');
      expectRefused(k, () => k.read(bad as never, new Uint8Array(8), 8), 'ModelKernel.read', 'fd');
      expectRefused(k, () => k.write(bad as never, new Uint8Array(8), 8), 'ModelKernel.write', 'fd');
      expectRefused(k, () => k.watchEventFd(bad as never, () => undefined), 'ModelKernel.watchEventFd', 'fd');
    }
    // The right type naming nothing: what the kernel says.
    for (const n of [-1, 99, -(2 ** 31)]) expect([k.close(n), k.dup(n), k.sameFile(fd, n), k.read(n, new Uint8Array(8), 8), k.write(n, new Uint8Array(8), 8), k.fileRefs(n)]).toEqual([-EBADF, -EBADF, -EBADF, -EBADF, -EBADF, 0]);
  });

  it('read and write: buf must be a Uint8Array and length a non-negative integer', () => {
    const k = new BareKernel(100);
    const fd = k.eventfd(1, 0);
    for (const buf of [[0, 0, 0, 0, 0, 0, 0, 1], 'xxxxxxxx', new ArrayBuffer(8), null]) {
      expectRefused(k, () => k.write(fd, buf as never, 8), 'ModelKernel.write', 'buf');
      expectRefused(k, () => k.read(fd, buf as never, 8), 'ModelKernel.read', 'buf');
    }
    for (const length of [-8, Number.NaN, '8', 8.5]) {
      expectRefused(k, () => k.write(fd, new Uint8Array(8), length as never), 'ModelKernel.write', 'length');
      expectRefused(k, () => k.read(fd, new Uint8Array(8), length as never), 'ModelKernel.read', 'length');
    }
    expect(k.files.counter(fd)).toBe(1n);
  });

  it('watchEventFd: ready must be a function, and nothing is watched when it is not', () => {
    const k = new BareKernel(100);
    const fd = k.eventfd(0, 0);
    for (const ready of [undefined, 'f', {}]) {
      expectRefused(k, () => k.watchEventFd(fd, ready as never), 'ModelKernel.watchEventFd', 'ready');
      const e = thrownBy(() => k.files.watchEventFd(fd, ready as never));
      expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'ModelFileTable.watchEventFd']);
    }
    let woken = 0;
    const stop = k.watchEventFd(fd, () => void woken++);
    const one = new Uint8Array(8);
    one[0] = 1;
    expect(k.write(fd, one, 8)).toBe(8);
    expect(woken).toBe(1);
    stop();
  });
});
