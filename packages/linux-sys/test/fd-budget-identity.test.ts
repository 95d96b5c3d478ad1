import { fstatSync } from 'node:fs';
import { EventFd, libcSyscalls, parseEventFdId, parseOpenFilesLimit, processDescriptorBudget, sameEventFdByFdinfo } from '../src';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
`;

test('the soft RLIMIT_NOFILE is read from the "Max open files" row; unlimited and garbage are told apart', () => {
  expect(parseOpenFilesLimit(LIMITS)).toBe(20000);
  expect(parseOpenFilesLimit(LIMITS.replace('20000   ', 'unlimited'))).toBe(Infinity);
  expect(parseOpenFilesLimit('Max cpu time unlimited')).toBeUndefined();
  expect(parseOpenFilesLimit('Max open files            -3   5  files')).toBeUndefined();
  expect(parseOpenFilesLimit('')).toBeUndefined();
});

test('this process: the budget counts the descriptors it opens', () => {
  const before = processDescriptorBudget()!;
  expect(before.limit).toBeGreaterThan(0);
  using e = new EventFd();
  const after = processDescriptorBudget()!;
  expect(after.open - before.open).toBe(e.duplicated ? 2 : 1);
});

test('an eventfd is identified by its fdinfo eventfd-id: a dup is the same, another eventfd is not, though fstat cannot tell them apart', () => {
  const sys = libcSyscalls();
  const a = sys.eventfd(0, 0);
  const b = sys.eventfd(0, 0);
  const c = sys.dup!(a);
  try {
    // Every eventfd shares one anonymous inode: st_dev and st_ino are the same for different eventfds.
    expect([fstatSync(a).ino, fstatSync(a).dev]).toEqual([fstatSync(b).ino, fstatSync(b).dev]);
    expect(sameEventFdByFdinfo(a, c)).toBe(1);
    expect(sameEventFdByFdinfo(c, a)).toBe(1);
    expect(sameEventFdByFdinfo(a, b)).toBe(0);
    // Not an eventfd on the other side: different. Not one on the first side, or closed: unknown.
    expect(sameEventFdByFdinfo(a, 0)).toBe(0);
    expect(sameEventFdByFdinfo(0, a)).toBeUndefined();
    expect(sameEventFdByFdinfo(a, 1_000_000)).toBeUndefined();
    // The kernel's own answer agrees where kcmp works.
    expect([sys.sameFile!(a, c), sys.sameFile!(a, b)]).toEqual([1, 0]);
  } finally {
    for (const fd of [a, b, c]) sys.close(fd);
  }
});

test('the eventfd-id row is parsed from fdinfo text, and only from that row', () => {
  expect(parseEventFdId('pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\neventfd-count:                0\neventfd-id: 17\n')).toBe('17');
  expect(parseEventFdId('pos:\t0\nflags:\t02\nino:\t5\n')).toBeUndefined();
  expect(parseEventFdId('xeventfd-id: 3\n')).toBeUndefined();
});
