/**
 * Linux AIO on this real kernel: a file read's completion is signalled on an eventfd by the kernel
 * (IOCB_FLAG_RESFD), once per completion, with no user-space write; bad arguments are refused
 * before any call; kernel failures are typed; nothing is left open or mapped.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVirtError } from '@tsvmm/virt';
import { AioContext, type AioCalls, EAGAIN, EBADF, ENOSYS, EPERM, EventFd, libcAioCalls, libcSyscalls } from '../src';
import { FaultInjector, ModelFileTable, ProcessEventFds } from '../src/testing';

const CONTENT = Buffer.from(Array.from({ length: 3 * 4096 }, (_, i) => (i * 7 + 3) & 0xff));
let dir: string;
let file: string;
let fd: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-aio-'));
  file = join(dir, 'data');
  writeFileSync(file, CONTENT);
  fd = openSync(file, 'r');
});
afterAll(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

const openFds = (): number => readdirSync('/proc/self/fd').length;
/** AIO rings mapped into this process (`/[aio]` mappings, one per live context). */
const aioMappings = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('/[aio]')).length;

/** AIO calls that count every call and fail the ones a test chooses (with -errno). */
function countingCalls(fail: Partial<Record<keyof AioCalls, number>> = {}): AioCalls & { count: Record<keyof AioCalls, number> } {
  const real = libcAioCalls();
  const count = { ioSetup: 0, ioDestroy: 0, ioSubmit: 0, ioGetevents: 0 };
  return {
    count,
    ioSetup: (n, a) => (count.ioSetup++, fail.ioSetup !== undefined ? -fail.ioSetup : real.ioSetup(n, a)),
    ioDestroy: (c) => (count.ioDestroy++, fail.ioDestroy !== undefined ? -fail.ioDestroy : real.ioDestroy(c)),
    ioSubmit: (c, n, a) => (count.ioSubmit++, fail.ioSubmit !== undefined ? -fail.ioSubmit : real.ioSubmit(c, n, a)),
    ioGetevents: (c, m, n, e, t) => (count.ioGetevents++, fail.ioGetevents !== undefined ? -fail.ioGetevents : real.ioGetevents(c, m, n, e, t)),
  };
}

describe('AioContext: file reads complete into an eventfd, by the kernel', () => {
  it('each read completes once: the eventfd counter rises by exactly 1 per completion, and the bytes are the file\'s', () => {
    using ctx = AioContext.create({ capacity: 4, maxReadBytes: 4096 });
    const sys = new FaultInjector();
    using e = new EventFd(sys);
    const mark = sys.mark();
    for (let i = 0; i < 3; i++) {
      const id = ctx.submitRead({ fd, length: 1000, offset: i * 4096 + 5, completion: e });
      const [c, ...more] = ctx.getEvents({ min: 1, timeoutMs: 5000 });
      expect(more).toEqual([]);
      expect(c!.id).toBe(id);
      expect(c!.result).toBe(1000);
      expect(Buffer.from(c!.data).equals(CONTENT.subarray(i * 4096 + 5, i * 4096 + 1005))).toBe(true);
      expect(e.consume()).toBe(1);
      expect(e.consume()).toBe(0);
    }
    // Three completions arrived on the eventfd and user space wrote it never.
    expect(sys.callsSince(mark).filter((c) => c.call === 'write')).toEqual([]);
    expect(ctx.inFlight).toBe(0);
  });

  it('several reads in flight at once: one signal per completion, every id reported once', () => {
    using ctx = AioContext.create({ capacity: 8, maxReadBytes: 512 });
    using e = new EventFd();
    const ids = Array.from({ length: 8 }, (_, i) => ctx.submitRead({ fd, length: 512, offset: i * 512, completion: e.fd }));
    expect(ctx.inFlight).toBe(8);
    const seen: number[] = [];
    for (let round = 0; round < 8 && seen.length < 8; round++) seen.push(...ctx.getEvents({ min: 8 - seen.length, timeoutMs: 5000 }).map((c) => c.id));
    expect(seen.sort((a, b) => a - b)).toEqual(ids);
    expect(e.consume()).toBe(8);
    expect(ctx.inFlight).toBe(0);
  });

  it('a read at the end of the file completes with 0 bytes, and is still signalled once', () => {
    using ctx = AioContext.create({ capacity: 1 });
    using e = new EventFd();
    ctx.submitRead({ fd, length: 16, offset: CONTENT.length, completion: e });
    expect(ctx.getEvents({ timeoutMs: 5000 }).map((c) => [c.result, c.data.length])).toEqual([[0, 0]]);
    expect(e.consume()).toBe(1);
  });

  it('a file the kernel refuses to read (opened write-only) is a typed EBADF from io_submit; the slot stays free and nothing is signalled', () => {
    using ctx = AioContext.create({ capacity: 1 });
    using e = new EventFd();
    const wfd = openSync(join(dir, 'write-only'), 'w');
    try {
      let err: unknown;
      try {
        ctx.submitRead({ fd: wfd, length: 8, completion: e });
      } catch (x) {
        err = x;
      }
      expect(isVirtError(err, 'SYSCALL')).toBe(true);
      expect(err).toMatchObject({ errno: EBADF, errnoName: 'EBADF', operation: 'AioContext.submitRead' });
      expect(ctx.inFlight).toBe(0);
      expect(ctx.getEvents({ min: 0, timeoutMs: 0 })).toEqual([]);
      expect(e.consume()).toBe(0);
      // The slot was given back: a good read goes through.
      ctx.submitRead({ fd, length: 8, completion: e });
      expect(ctx.getEvents({ timeoutMs: 5000 })).toHaveLength(1);
    } finally {
      closeSync(wfd);
    }
  });

  it('EXHAUSTED when every slot is in flight; reaping frees them', () => {
    using ctx = AioContext.create({ capacity: 2, maxReadBytes: 64 });
    using e = new EventFd();
    ctx.submitRead({ fd, length: 64, completion: e });
    ctx.submitRead({ fd, length: 64, completion: e });
    expect(() => ctx.submitRead({ fd, length: 64, completion: e })).toThrow(expect.objectContaining({ code: 'EXHAUSTED' }));
    let reaped = 0;
    for (let i = 0; i < 4 && reaped < 2; i++) reaped += ctx.getEvents({ min: 2 - reaped, timeoutMs: 5000 }).length;
    expect(reaped).toBe(2);
    expect(e.consume()).toBe(2);
    ctx.submitRead({ fd, length: 64, completion: e });
    expect(ctx.getEvents({ timeoutMs: 5000 })).toHaveLength(1);
  });

  it('getEvents waits no longer than asked when nothing is in flight', () => {
    using ctx = AioContext.create({ capacity: 1 });
    expect(ctx.getEvents({ min: 1, timeoutMs: 20 })).toEqual([]);
  });
});

describe('AioContext: bad arguments are refused before any system call', () => {
  const opened: number[] = [];
  afterEach(() => {
    for (const n of opened.splice(0)) closeSync(n);
  });
  /** A FIFO opened read-write (so the open does not wait for a writer): a read of it could wait forever. */
  const fifoFd = (): number => {
    const fifo = join(dir, `fifo-${opened.length}-${process.hrtime.bigint()}`);
    execFileSync('mkfifo', [fifo]);
    const n = openSync(fifo, 'r+');
    opened.push(n);
    return n;
  };

  it.each<[string, (e: EventFd, ctx: AioContext) => unknown]>([
    ['length 0', (e) => ({ fd, length: 0, completion: e })],
    ['length above maxReadBytes', (e, ctx) => ({ fd, length: ctx.maxReadBytes + 1, completion: e })],
    ['a negative offset', (e) => ({ fd, length: 8, offset: -1, completion: e })],
    ['a fractional fd', (e) => ({ fd: 1.5, length: 8, completion: e })],
    ['a closed fd', (e) => ({ fd: 1_000_000, length: 8, completion: e })],
    ['a FIFO (a read could wait without a bound)', (e) => ({ fd: fifoFd(), length: 8, completion: e })],
    ['a completion that is a regular file, not an eventfd', () => ({ fd, length: 8, completion: fd })],
    ['a completion that is missing', () => ({ fd, length: 8 })],
    ['a completion of another kind', () => ({ fd, length: 8, completion: { kind: 'in-process', fd: undefined } })],
    ['an unknown key', (e) => ({ fd, length: 8, completion: e, flags: 1 })],
    ['not an object', () => 7],
  ])('%s: INVALID_ARGUMENT, no io_submit, no slot taken', (_name, make) => {
    const calls = countingCalls();
    using ctx = AioContext.create({ capacity: 1, maxReadBytes: 64, calls });
    using e = new EventFd();
    const request = make(e, ctx);
    expect(() => ctx.submitRead(request as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(calls.count.ioSubmit).toBe(0);
    expect(ctx.inFlight).toBe(0);
    expect(e.consume()).toBe(0);
  });

  it.each<[string, unknown]>([
    ['capacity 0', { capacity: 0 }],
    ['capacity above the maximum', { capacity: 257 }],
    ['maxReadBytes 0', { maxReadBytes: 0 }],
    ['an unknown option', { depth: 1 }],
    ['calls without ioSubmit', { calls: { ioSetup: () => 0, ioDestroy: () => 0, ioGetevents: () => 0 } }],
  ])('create with %s: INVALID_ARGUMENT, no io_setup', (_name, options) => {
    const before = aioMappings();
    expect(() => AioContext.create(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(aioMappings()).toBe(before);
  });

  it('the constructor, called from JavaScript past create(), is INVALID_ARGUMENT before io_setup', () => {
    const calls = countingCalls();
    const Ctor = AioContext as unknown as new (...a: unknown[]) => AioContext;
    expect(() => new Ctor(Symbol('forged'), 1, 64, calls)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(calls.count.ioSetup).toBe(0);
  });

  it('getEvents needs a bounded timeout', () => {
    const calls = countingCalls();
    using ctx = AioContext.create({ calls });
    for (const bad of [{}, { timeoutMs: -1 }, { timeoutMs: 60_001 }, { timeoutMs: Infinity }, { timeoutMs: 5, min: 99 }]) {
      expect(() => ctx.getEvents(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(calls.count.ioGetevents).toBe(0);
  });
});

describe('AioContext: kernel refusals are typed, say what to do, and leave nothing behind', () => {
  it.each<[string, number, string, RegExp]>([
    ['ENOSYS (no CONFIG_AIO, or a seccomp filter)', ENOSYS, 'UNSUPPORTED', /CONFIG_AIO.*seccomp|seccomp.*allow io_setup/],
    ['EPERM (a seccomp filter or security module)', EPERM, 'PERMISSION', /allow io_setup, io_submit, io_getevents and io_destroy/],
    ['EAGAIN (fs.aio-max-nr reached)', EAGAIN, 'EXHAUSTED', /fs\.aio-max-nr/],
  ])('io_setup %s', (_name, errno, code, hint) => {
    const before = aioMappings();
    const calls = countingCalls({ ioSetup: errno });
    let err: unknown;
    try {
      AioContext.create({ calls });
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, code as never)).toBe(true);
    expect((err as { errno: number }).errno).toBe(errno);
    expect((err as Error).message).toMatch(hint);
    expect(calls.count.ioDestroy).toBe(0);
    expect(aioMappings()).toBe(before);
  });

  it('io_getevents failing (EINVAL) is typed', () => {
    using ctx = AioContext.create({ calls: countingCalls({ ioGetevents: 22 }) });
    expect(() => ctx.getEvents({ timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'SYSCALL', errnoName: 'EINVAL' }));
  });
});

describe('AioContext: ownership', () => {
  it('dispose is idempotent; calls afterwards are DISPOSED', () => {
    const calls = countingCalls();
    const ctx = AioContext.create({ calls });
    ctx.dispose();
    ctx[Symbol.dispose]();
    expect(ctx.disposed).toBe(true);
    expect(calls.count.ioDestroy).toBe(1);
    expect(() => ctx.submitRead({ fd, length: 1, completion: 0 })).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => ctx.getEvents({ timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });

  it('leaks nothing: 20 contexts with reads in flight at dispose leave every fd count and AIO mapping as it was', () => {
    const fds0 = openFds();
    const maps0 = aioMappings();
    for (let i = 0; i < 20; i++) {
      const ctx = AioContext.create({ capacity: 4, maxReadBytes: 256 });
      const e = new EventFd();
      expect(aioMappings()).toBe(maps0 + 1);
      for (let j = 0; j < 4; j++) ctx.submitRead({ fd, length: 256, offset: j * 256, completion: e });
      ctx.dispose(); // io_destroy waits for the reads in flight
      e.dispose();
    }
    expect(aioMappings()).toBe(maps0);
    expect(openFds()).toBe(fds0);
  });
});

describe('ProcessEventFds: a real eventfd beside each model eventfd', () => {
  /** A model that only has eventfds (the shared model table), and counts what reaches it. */
  function eventModel() {
    const table = new ModelFileTable<object>();
    const writes: number[] = [];
    const model = {
      table,
      writes,
      open: () => -2,
      close: (n: number) => table.close(n),
      ioctl: () => -25,
      read: (n: number, b: Uint8Array, l: number) => table.readEventFd(n, b, l),
      write: (n: number, b: Uint8Array, l: number) => {
        const r = table.addToEventFd(n, b, l);
        if (typeof r === 'number') return r;
        writes.push(n);
        return 8;
      },
      eventfd: (i: number) => table.createEventFd(i),
      poll: () => -38,
      epollCreate: () => -38,
      epollCtl: () => -38,
      epollWait: () => -38,
      dup: (n: number) => table.dup(n),
      sameFile: (a: number, b: number) => table.sameFile(a, b),
    };
    return model;
  }

  it('what the kernel adds to the real eventfd reaches the model once, at its next call; the real one is closed with the last model number', () => {
    const fds0 = openFds();
    const model = eventModel();
    using bridge = new ProcessEventFds(model);
    const m = bridge.eventfd(0, 0);
    const m2 = bridge.dup(m);
    const real = bridge.processFdOf(m)!;
    expect(bridge.processFdOf(m2)).toBe(real);
    expect(openFds()).toBe(fds0 + 1);
    using ctx = AioContext.create({ capacity: 2 });
    ctx.submitRead({ fd, length: 8, completion: real });
    ctx.submitRead({ fd, length: 8, completion: real });
    expect(ctx.getEvents({ min: 2, timeoutMs: 5000 }).length + ctx.getEvents({ min: 0, timeoutMs: 0 }).length).toBe(2);
    const counter = new Uint8Array(8);
    expect(bridge.read(m2, counter, 8)).toBe(8);
    expect(new DataView(counter.buffer).getBigUint64(0, true)).toBe(2n);
    expect(model.writes).toHaveLength(1); // one write of the count, not one per signal
    expect(bridge.read(m, counter, 8)).toBe(-EAGAIN);
    expect(bridge.close(m)).toBe(0);
    expect(openFds()).toBe(fds0 + 1);
    expect(bridge.close(m2)).toBe(0);
    expect(openFds()).toBe(fds0);
    expect(bridge.processFdOf(m)).toBeUndefined();
  });

  it('dispose closes the real eventfds still open, once', () => {
    const fds0 = openFds();
    const bridge = new ProcessEventFds(eventModel(), libcSyscalls());
    bridge.eventfd(0, 0);
    bridge.eventfd(0, 0);
    expect(openFds()).toBe(fds0 + 2);
    bridge.dispose();
    bridge.dispose();
    expect(openFds()).toBe(fds0);
  });
});
