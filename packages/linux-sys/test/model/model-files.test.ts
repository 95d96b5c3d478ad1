import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { EAGAIN, EBADF, EINVAL, EMFILE, processDescriptorBudget } from '../../src';
import { ModelFileTable, isEventFd } from '../../src/testing';

const u64 = (n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};

test('numbers are the lowest free, a dup names the same file, and only the last close releases it', () => {
  const released: object[] = [];
  const files = new ModelFileTable<{ kind: 'dev' }>({ maxFds: 100, onRelease: (f) => released.push(f) });
  const dev = { kind: 'dev' as const };
  const a = files.install(dev);
  const b = files.createEventFd(0);
  const c = files.dup(a);
  expect([a, b, c]).toEqual([3, 4, 5]);
  expect([files.sameFile(a, c), files.sameFile(a, b), files.fileRefs(a)]).toEqual([1, 0, 2]);
  expect(files.close(a)).toBe(0);
  expect(released).toEqual([]);
  expect(files.createEventFd(0)).toBe(3); // the lowest free number again
  expect(files.close(c)).toBe(0);
  expect(released).toEqual([dev]);
  expect([files.close(c), files.dup(c), files.sameFile(b, c)]).toEqual([-EBADF, -EBADF, -EBADF]);
  expect(files.count(isEventFd)).toBe(2);
  expect(files.fdOf(dev)).toBeUndefined();
});

test('EMFILE at the limit, and by default the limit is what the process itself may still open', () => {
  const files = new ModelFileTable({ maxFds: 2 });
  expect([files.createEventFd(0), files.createEventFd(0), files.createEventFd(0), files.dup(3)]).toEqual([3, 4, -EMFILE, -EMFILE]);
  expect(files.budget()).toEqual({ limit: 2, open: 2 });
  const real = processDescriptorBudget();
  const byDefault = new ModelFileTable();
  if (real !== undefined && real.limit !== Infinity) {
    expect(byDefault.maxFds).toBeLessThanOrEqual(real.limit - real.open);
    expect(byDefault.maxFds).toBeGreaterThan(real.limit - real.open - 16);
  }
});

test('eventfd reads and writes: non-blocking, 64-bit, EINVAL for the all-ones value, EAGAIN past the maximum', () => {
  const files = new ModelFileTable({ maxFds: 10 });
  const fd = files.createEventFd(5);
  const buf = new Uint8Array(8);
  expect(files.readEventFd(fd, buf, 8)).toBe(8);
  expect(new DataView(buf.buffer).getBigUint64(0, true)).toBe(5n);
  expect(files.readEventFd(fd, buf, 8)).toBe(-EAGAIN);
  expect(files.readEventFd(fd, buf, 4)).toBe(-EINVAL);
  expect(files.addToEventFd(fd, u64(0xffff_ffff_ffff_ffffn), 8)).toBe(-EINVAL);
  expect(files.addToEventFd(fd, u64(0xffff_ffff_ffff_fffen), 8)).toMatchObject({ count: 0xffff_ffff_ffff_fffen });
  expect(files.addToEventFd(fd, u64(1n), 8)).toBe(-EAGAIN);
  expect(files.counter(fd)).toBe(0xffff_ffff_ffff_fffen);
  expect(files.addToEventFd(99, u64(1n), 8)).toBe(-EBADF);
});

test('a watcher is told when a write leaves the eventfd readable, stops when asked, and goes with the file', () => {
  const files = new ModelFileTable({ maxFds: 10 });
  const fd = files.createEventFd(0);
  let woken = 0;
  const stop = files.watchEventFd(fd, () => woken++);
  const e = files.addToEventFd(fd, u64(1n), 8);
  if (typeof e === 'number') throw new Error(`write failed: ${e}`);
  files.notifyReadable(e);
  expect(woken).toBe(1);
  stop();
  files.notifyReadable(e);
  expect(woken).toBe(1);
  expect(virtErrorThrownBy(() => files.watchEventFd(99, () => undefined))).toMatchObject({ code: 'INVALID_ARGUMENT', operation: 'ModelFileTable.watchEventFd' });
});
