/**
 * A Linux AIO context (`io_setup(2)`) that reads regular files and, for each read, has the kernel
 * add 1 to an eventfd when the read completes (`IOCB_FLAG_RESFD`): a real producer of eventfd
 * signals, made by the kernel itself. Given the eventfd of an irqfd route (`route.event`), the
 * completion reaches the guest's local APIC with no user-space write to the eventfd: the kernel's
 * `aio_complete` calls `eventfd_signal`, whose wakeup is KVM's `irqfd_wakeup`.
 *
 * Sources: `io_setup(2)`, `io_submit(2)`, `io_getevents(2)`, `io_destroy(2)`;
 * `include/uapi/linux/aio_abi.h`; `fs/aio.c` (`aio_complete` signals `ki_eventfd` once per request
 * after writing its `io_event`; `io_destroy` waits for the requests in flight; contexts belong to
 * the process's address space, so a forked child cannot use them and exec and exit destroy them).
 */
import { readlinkSync, fstatSync } from 'node:fs';
import { type Disposable, type EventFdEvent, VirtError } from '@tsvmm/virt';
import { checkInteger, describeValue, disposedError, invalidArgument, checkConstructToken, checkMethods, checkOptions } from '@tsvmm/virt/implement';
import { readField, writeField } from '@tsvmm/ffi';
import { EAGAIN, EINTR, ENOMEM, ENOSYS, EPERM, errnoError } from '../errno';
import { IOCB, IOCB_CMD_PREAD, IOCB_FLAG_RESFD, IO_EVENT, TIMESPEC } from './abi';
import { type AioCalls, type PinnedMemory, allocatePinned, libcAioCalls } from './calls';

/** Requests in flight at once, at most: each holds a read buffer of {@link AioContextOptions.maxReadBytes}. */
export const AIO_MAX_CAPACITY = 256;
/** The largest read one request may ask for, in bytes (1 MiB). */
export const AIO_MAX_READ_BYTES = 1 << 20;
/** The longest {@link AioContext.getEvents} may wait, in milliseconds. */
export const AIO_MAX_WAIT_MS = 60_000;

/** How an {@link AioContext} is made. */
export interface AioContextOptions {
  /** Requests in flight at once, 1 to {@link AIO_MAX_CAPACITY}; also the `nr_events` given to io_setup. Default 8. */
  readonly capacity?: number;
  /** Bytes of each request's read buffer, 1 to {@link AIO_MAX_READ_BYTES}. Default 4096. */
  readonly maxReadBytes?: number;
  /** The system calls (default: {@link libcAioCalls}); tests pass a wrapper that fails chosen calls. */
  readonly calls?: AioCalls;
}

/** One positioned read ({@link AioContext.submitRead}). */
export interface AioReadRequest {
  /** An open regular file, readable; the caller keeps owning it (nothing here closes it). */
  readonly fd: number;
  /** Bytes to read, 1 to the context's `maxReadBytes`. */
  readonly length: number;
  /** Byte offset in the file; default 0. */
  readonly offset?: number;
  /**
   * The eventfd the kernel adds 1 to when this read completes: a number, or an eventfd event (an
   * irqfd route's `route.event`, whose `fd` is used). It must be an open eventfd of this process.
   */
  readonly completion: number | EventFdEvent;
}

/** A completed read, as io_getevents reported it. */
export interface AioCompletion {
  /** The id {@link AioContext.submitRead} returned. */
  readonly id: number;
  /** Bytes read (0 at end of file), or -errno when the read failed (`io_event.res`). */
  readonly result: number;
  /** A copy of the bytes read (`result` of them); empty when the read failed. */
  readonly data: Uint8Array;
}

interface Slot {
  readonly index: number;
  id: number;
}

const OP_CREATE = 'AioContext.create';
const OP_SUBMIT = 'AioContext.submitRead';
const OP_EVENTS = 'AioContext.getEvents';

const ANON_EVENTFD = 'anon_inode:[eventfd]';

/** Held by {@link AioContext.create} only: the constructor opens a kernel context and must not run unchecked. */
const CONSTRUCT = Symbol('AioContext.create');

/** io_setup's errnos, said for people: what is wrong with the host and what to do. */
function setupError(errno: number, capacity: number): VirtError {
  const call = `io_setup(${capacity})`;
  switch (errno) {
    case ENOSYS:
      return errnoError(OP_CREATE, errno, {
        call,
        code: 'UNSUPPORTED',
        detail: 'Linux AIO is not available: io_setup returned ENOSYS',
        hint: 'The kernel was built without CONFIG_AIO, or a seccomp filter answers ENOSYS for the AIO calls (some container runtimes do): run on a kernel with AIO, or allow io_setup, io_submit, io_getevents and io_destroy in the sandbox profile.',
      });
    case EPERM:
      return errnoError(OP_CREATE, errno, {
        call,
        code: 'PERMISSION',
        detail: 'Linux AIO is denied: io_setup returned EPERM',
        hint: 'A seccomp filter or security module denies the AIO calls here: allow io_setup, io_submit, io_getevents and io_destroy in the sandbox profile.',
      });
    case EAGAIN:
      return errnoError(OP_CREATE, errno, {
        call,
        code: 'EXHAUSTED',
        detail: `the system-wide AIO event limit (fs.aio-max-nr) has no room for ${capacity} more events`,
        hint: 'Dispose unused AIO contexts, ask for a smaller capacity, or raise the limit: sysctl fs.aio-max-nr (see /proc/sys/fs/aio-nr for what is in use).',
      });
    case ENOMEM:
      return errnoError(OP_CREATE, errno, { call, detail: 'the kernel could not allocate the AIO ring' });
    default:
      return errnoError(OP_CREATE, errno, { call });
  }
}

/** True when `fd` is an eventfd of this process (procfs says so), false when it is not, undefined when procfs cannot tell. */
function isEventFdNumber(fd: number): boolean | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === ANON_EVENTFD;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
}

/**
 * A Linux AIO context with a fixed number of request slots, each with its own pinned read buffer
 * and `struct iocb`. Reads are submitted one at a time with {@link submitRead}; the kernel signals
 * each read's completion eventfd once, when it completes; {@link getEvents} reaps the completions
 * (freeing their slots) with a bounded wait.
 *
 * Ownership: the context owns its kernel context and its memory, and nothing else (the files read
 * and the eventfds signalled stay their owners'). It is not a file descriptor, so there is nothing
 * to mark close-on-exec: exec and exit destroy it, and a forked child cannot use it (`fs/aio.c`
 * looks contexts up in the caller's address space). {@link dispose} destroys it, waiting in the
 * kernel for reads in flight (regular files only, so that wait is bounded by the I/O itself).
 */
export class AioContext implements Disposable {
  /** Requests in flight at once, at most. */
  readonly capacity: number;
  /** The largest read one request may ask for, in bytes. */
  readonly maxReadBytes: number;
  private readonly calls: AioCalls;
  private readonly memory: PinnedMemory;
  private readonly view: DataView;
  private readonly ctx: bigint;
  private readonly free: Slot[] = [];
  private readonly busy = new Map<number, Slot>();
  private nextId = 1;
  private isDisposed = false;
  // Offsets in the pinned block: the iocb pointer array, the iocbs, the io_events, the timeout, the read buffers.
  private readonly pointersAt: number;
  private readonly iocbsAt: number;
  private readonly eventsAt: number;
  private readonly timeoutAt: number;
  private readonly buffersAt: number;

  private constructor(token: symbol, capacity: number, maxReadBytes: number, calls: AioCalls) {
    checkConstructToken(token, CONSTRUCT, 'AioContext', 'AioContext.create()');
    this.capacity = capacity;
    this.maxReadBytes = maxReadBytes;
    this.calls = calls;
    this.pointersAt = 8;
    this.iocbsAt = align64(this.pointersAt + 8 * capacity);
    this.eventsAt = this.iocbsAt + IOCB.size * capacity;
    this.timeoutAt = this.eventsAt + IO_EVENT.size * capacity;
    this.buffersAt = align64(this.timeoutAt + TIMESPEC.size);
    this.memory = allocatePinned(this.buffersAt + maxReadBytes * capacity);
    this.view = new DataView(this.memory.bytes.buffer, this.memory.bytes.byteOffset, this.memory.bytes.byteLength);
    // The kernel reads aio_context_t from *ctxp and refuses a non-zero one (EINVAL): it was zeroed.
    const r = calls.ioSetup(capacity, this.memory.address);
    if (r < 0) {
      this.memory.free();
      throw setupError(-r, capacity);
    }
    this.ctx = this.view.getBigUint64(0, true);
    for (let i = capacity - 1; i >= 0; i--) this.free.push({ index: i, id: 0 });
  }

  /**
   * Creates a context (io_setup with `capacity` events). Throws INVALID_ARGUMENT for a bad or
   * unknown option (before any call), and for io_setup's failures: UNSUPPORTED (ENOSYS: no
   * CONFIG_AIO, or a seccomp filter), PERMISSION (EPERM: a seccomp filter or security module),
   * EXHAUSTED (EAGAIN: fs.aio-max-nr reached), or the errno's {@link VirtError}; nothing is left
   * allocated then.
   */
  static create(options: AioContextOptions = {}): AioContext {
    const o = checkOptions<AioContextOptions>(OP_CREATE, 'options', options, ['capacity', 'maxReadBytes', 'calls']);
    const capacity = o.capacity === undefined ? 8 : checkInteger(OP_CREATE, 'capacity', o.capacity, 1, AIO_MAX_CAPACITY);
    const maxReadBytes = o.maxReadBytes === undefined ? 4096 : checkInteger(OP_CREATE, 'maxReadBytes', o.maxReadBytes, 1, AIO_MAX_READ_BYTES);
    const calls = o.calls === undefined ? libcAioCalls() : checkMethods<AioCalls>(OP_CREATE, 'calls', o.calls, ['ioSetup', 'ioDestroy', 'ioSubmit', 'ioGetevents'], []);
    return new AioContext(CONSTRUCT, capacity, maxReadBytes, calls);
  }

  /** Requests submitted and not yet reaped by {@link getEvents}. */
  get inFlight(): number {
    return this.busy.size;
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Submits a read of `request.length` bytes at `request.offset` of the regular file `request.fd`
   * (IOCB_CMD_PREAD) whose completion the kernel signals on `request.completion` (IOCB_FLAG_RESFD:
   * +1, once). Returns the request's id, which its {@link AioCompletion} carries.
   *
   * Throws, before any system call: DISPOSED; INVALID_ARGUMENT for a length, offset or number out
   * of range, an fd that is not an open regular file (a pipe or socket read could wait without a
   * bound), or a completion that is not an open eventfd; EXHAUSTED when `capacity` requests are in
   * flight (reap some with {@link getEvents}). A failed io_submit throws the errno's
   * {@link VirtError} and leaves the slot free: nothing was submitted and nothing will be signalled.
   */
  submitRead(request: AioReadRequest): number {
    if (this.isDisposed) throw disposedError(OP_SUBMIT, 'the AIO context');
    const r = checkOptions<AioReadRequest>(OP_SUBMIT, 'request', request, ['fd', 'length', 'offset', 'completion']);
    const fd = checkInteger(OP_SUBMIT, 'fd', r.fd, 0, 0x7fff_ffff);
    const length = checkInteger(OP_SUBMIT, 'length', r.length, 1, this.maxReadBytes);
    const offset = r.offset === undefined ? 0 : checkInteger(OP_SUBMIT, 'offset', r.offset, 0, Number.MAX_SAFE_INTEGER);
    const resfd = completionFd(r.completion);
    let regular: boolean;
    try {
      regular = fstatSync(fd).isFile();
    } catch (e) {
      throw invalidArgument(OP_SUBMIT, `fd ${fd} is not an open file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    if (!regular) throw invalidArgument(OP_SUBMIT, `fd ${fd} is not a regular file`, 'Read a regular file: a read of a pipe, socket or device could wait without a bound.');
    if (isEventFdNumber(resfd) === false) throw invalidArgument(OP_SUBMIT, `completion fd ${resfd} is not an open eventfd`, 'Pass an eventfd (an irqfd route\'s event); nothing was submitted.');
    const slot = this.free.pop();
    if (slot === undefined) {
      throw new VirtError('EXHAUSTED', {
        operation: OP_SUBMIT,
        detail: `all ${this.capacity} requests of the AIO context are in flight`,
        hint: 'Reap completions with getEvents() first, or create the context with a larger capacity.',
      });
    }
    const id = this.nextId++;
    const iocb = this.iocbsAt + slot.index * IOCB.size;
    this.memory.bytes.fill(0, iocb, iocb + IOCB.size);
    const f = IOCB.fields;
    writeField(this.view, iocb, f.data, BigInt(id));
    writeField(this.view, iocb, f.opcode, IOCB_CMD_PREAD);
    writeField(this.view, iocb, f.fildes, fd);
    writeField(this.view, iocb, f.buf, this.memory.address + BigInt(this.buffersAt + slot.index * this.maxReadBytes));
    writeField(this.view, iocb, f.nbytes, length);
    writeField(this.view, iocb, f.offset, BigInt(offset));
    writeField(this.view, iocb, f.flags, IOCB_FLAG_RESFD);
    writeField(this.view, iocb, f.resfd, resfd);
    this.view.setBigUint64(this.pointersAt, this.memory.address + BigInt(iocb), true);
    const n = this.calls.ioSubmit(this.ctx, 1, this.memory.address + BigInt(this.pointersAt));
    if (n !== 1) {
      this.free.push(slot);
      throw errnoError(OP_SUBMIT, n < 0 ? -n : EAGAIN, {
        call: `io_submit(read fd ${fd}, completion eventfd ${resfd})`,
        outcome: 'Nothing was submitted; the completion eventfd will not be signalled for it.',
      });
    }
    slot.id = id;
    this.busy.set(id, slot);
    return id;
  }

  /**
   * Reaps completed reads: waits up to `timeoutMs` (0 to {@link AIO_MAX_WAIT_MS}) for at least
   * `min` (0 to `capacity`, default 1) of them, and returns those that completed (fewer than `min`
   * when the wait ran out or a signal interrupted it, EINTR), each freeing its slot. Throws
   * DISPOSED, INVALID_ARGUMENT (before any call), or the errno's {@link VirtError}.
   */
  getEvents(options: { readonly min?: number; readonly timeoutMs: number }): AioCompletion[] {
    if (this.isDisposed) throw disposedError(OP_EVENTS, 'the AIO context');
    const o = checkOptions<{ min?: number; timeoutMs: number }>(OP_EVENTS, 'options', options, ['min', 'timeoutMs']);
    const min = o.min === undefined ? 1 : checkInteger(OP_EVENTS, 'min', o.min, 0, this.capacity);
    const timeoutMs = checkInteger(OP_EVENTS, 'timeoutMs', o.timeoutMs, 0, AIO_MAX_WAIT_MS);
    writeField(this.view, this.timeoutAt, TIMESPEC.fields.sec, Math.floor(timeoutMs / 1000));
    writeField(this.view, this.timeoutAt, TIMESPEC.fields.nsec, (timeoutMs % 1000) * 1_000_000);
    const n = this.calls.ioGetevents(this.ctx, min, this.capacity, this.memory.address + BigInt(this.eventsAt), this.memory.address + BigInt(this.timeoutAt));
    if (n === -EINTR) return [];
    if (n < 0) throw errnoError(OP_EVENTS, -n, { call: 'io_getevents()' });
    const out: AioCompletion[] = [];
    for (let i = 0; i < n; i++) {
      const at = this.eventsAt + i * IO_EVENT.size;
      const id = Number(readField(this.view, at, IO_EVENT.fields.data));
      const result = Number(BigInt.asIntN(64, BigInt(readField(this.view, at, IO_EVENT.fields.res))));
      const slot = this.busy.get(id);
      if (slot === undefined) throw new VirtError('INTERNAL', { operation: OP_EVENTS, detail: `the kernel reported a completion for request ${id}, which is not in flight` });
      this.busy.delete(id);
      const start = this.buffersAt + slot.index * this.maxReadBytes;
      const data = result > 0 ? this.memory.bytes.slice(start, start + Math.min(result, this.maxReadBytes)) : new Uint8Array(0);
      this.free.push(slot);
      out.push({ id, result, data });
    }
    return out;
  }

  /**
   * Destroys the kernel context (io_destroy, which waits for reads in flight) and frees the memory.
   * Idempotent; never throws. Should io_destroy fail with reads in flight, the memory is kept (the
   * kernel may still write into it) rather than freed under the kernel.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const r = this.calls.ioDestroy(this.ctx);
    const inFlight = this.busy.size;
    this.busy.clear();
    if (r >= 0 || inFlight === 0) this.memory.free();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function align64(n: number): number {
  return (n + 63) & ~63;
}

function completionFd(c: unknown): number {
  if (typeof c === 'number') return checkInteger(OP_SUBMIT, 'completion', c, 0, 0x7fff_ffff);
  const e = c as Partial<EventFdEvent> | null;
  if (typeof e === 'object' && e !== null && e.kind === 'eventfd' && typeof e.fd === 'number') return checkInteger(OP_SUBMIT, 'completion.fd', e.fd, 0, 0x7fff_ffff);
  throw invalidArgument(OP_SUBMIT, `completion must be an eventfd number or an eventfd event, got ${describeValue(c)}`);
}
