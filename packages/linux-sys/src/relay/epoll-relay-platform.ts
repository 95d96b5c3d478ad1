/**
 * The Linux platform of the user-space relay: every route's eventfd in one epoll set, one worker
 * thread blocked in epoll_wait for all of them, injecting on that thread through a
 * backend-specific injector built inside the worker (for KVM: KVM_SIGNAL_MSI on the VM fd).
 *
 * watch/unwatch are epoll_ctl calls made on the caller's thread (epoll sets may be changed while
 * another thread waits on them), so arming and disarming cost no message to the worker.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { type Event, VirtError } from '@tsvmm/virt';
import { type RelayPlatform, type RelayPlatformFactory, RelayRouteTable, checkInteger, describeValue, disposedError, invalidArgument, SLOT_LAYOUT, checkFunction, checkObject } from '@tsvmm/virt/implement';
import { EPOLL_EVENT } from '../abi/linux';
import { check, failure } from '../check';
import { EPOLLIN, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EFD_NONBLOCK } from '../constants';
import { EINTR, errnoByName, errnoError } from '../errno';
import { EventFd } from '../eventfd';
import { routeEventFd } from '../irqfd/route-eventfd';
import { LIBC_PROTOTYPES, libcSyscalls } from '../libc';
import { libcFileName } from '../platform';
import type { Syscalls } from '../syscalls';
import { epollWorkerSource } from './epoll-worker';
import { checkInjectorSpec } from './injector-spec';
import {
  CONTROL_SLOT,
  CTL_EXITED,
  CTL_SETTLE_SEQ,
  CTL_STATE,
  CTL_STOP,
  CTL_WORDS,
  type EpollWorkerData,
  FAILURE_BYTES,
  type InjectorSpec,
  STATE_CANCELLED,
  STATE_FAILED,
  STATE_RUNNING,
  STATE_STARTING,
  type WorkerMessage,
} from './protocol';

export type { InjectorSpec, IoctlInjectorField, IoctlInjectorInput, IoctlInjectorSpec, RecordInjectorSpec } from './protocol';

/** Options of {@link EpollRelayPlatform} and {@link epollRelayPlatform}. */
export interface EpollRelayOptions {
  /** How the worker injects, as data (see {@link InjectorSpec}; build one with `ioctlInjector`). */
  readonly injector: InjectorSpec;
  /** System calls for the main-thread side (events, epoll_ctl); the worker always uses libc. */
  readonly sys?: Syscalls;
  /** How long dispose waits for a running worker to leave its loop before closing its fds anyway. Default 2000 ms. */
  readonly stopTimeoutMs?: number;
  /** How long creation waits for the worker to start before failing with a typed error. Default 10000 ms. */
  readonly startTimeoutMs?: number;
  /**
   * Starts the worker thread (default: `new Worker(source, options)`): for tests that need a
   * worker which fails or never starts.
   * @internal
   */
  readonly startWorker?: (source: string, options: WorkerOptions) => Worker;
}

const DEFAULT_STOP_TIMEOUT_MS = 2000;
const DEFAULT_START_TIMEOUT_MS = 10_000;

/** Where koffi is, for the worker (which runs from source text and cannot resolve packages itself). */
function resolveKoffi(operation: string): string {
  try {
    return require.resolve('koffi');
  } catch (e) {
    throw new VirtError('UNAVAILABLE', {
      operation,
      detail: `koffi cannot be resolved for the relay worker (${e instanceof Error ? e.message : String(e)})`,
      hint: 'Install koffi next to @tsvmm/linux-sys (when bundling, keep koffi external: it ships a native module).',
      cause: e,
    });
  }
}

/** A typed error for a worker that could not be created or started. */
function workerError(operation: string, reason: string, cause?: unknown): VirtError {
  const name = /\b(EMFILE|ENFILE|ENOMEM|EAGAIN)\b/.exec(reason)?.[1];
  const errno = name === undefined ? undefined : errnoByName(name);
  if (errno !== undefined) {
    return errnoError(operation, errno, { detail: `the relay worker thread could not start (${reason})`, call: 'worker thread start', outcome: 'Nothing was left open.' });
  }
  return new VirtError('UNAVAILABLE', {
    operation,
    detail: `the relay worker thread could not start (${reason})`,
    hint: 'Free resources (threads, memory, file descriptors) and retry. Nothing was left open.',
    cause,
  });
}

const live = new Set<EpollRelayPlatform>();
let exitHookInstalled = false;

interface PendingSettle {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The Linux relay platform: each armed route's eventfd sits in one epoll set (watch/unwatch are
 * epoll_ctl(2) calls on the caller's thread), and one worker thread blocked in epoll_wait(2)
 * injects each signal itself with the options' injector (for KVM: KVM_SIGNAL_MSI on the VM fd).
 * The worker never keeps the process alive; at process exit every live platform is disposed.
 * Errors are {@link VirtError}s; after the worker fails, {@link settle} rejects with INTERNAL.
 */
export class EpollRelayPlatform implements RelayPlatform {
  /** `epoll worker thread`, for capabilities and `tsvmm probe`. */
  readonly name = 'epoll worker thread';
  private readonly sys: Syscalls;
  private readonly controlBuffer = new SharedArrayBuffer(CTL_WORDS * 4);
  private readonly failureBuffer = new SharedArrayBuffer(FAILURE_BYTES);
  private readonly control = new Int32Array(this.controlBuffer);
  private readonly watchedBuffer: SharedArrayBuffer;
  private readonly watched: Int32Array;
  private readonly epollFd: number;
  private readonly controlFd: number;
  private readonly worker: Worker;
  private readonly eventBuf = new Uint8Array(EPOLL_EVENT.size);
  private readonly eventView = new DataView(this.eventBuf.buffer);
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly stopTimeoutMs: number;
  private readonly exited: Promise<void>;
  private pending: PendingSettle[] = [];
  private failure: VirtError | undefined;
  private isDisposed = false;

  /**
   * Creates the epoll set, the control eventfd and the worker, and waits (at most
   * `startTimeoutMs`) until the worker has started. Every failure, of any step, is a typed error
   * from this constructor with nothing left open (a worker that starts late exits without touching
   * any fd): a platform that exists delivers.
   */
  constructor(table: RelayRouteTable, options: EpollRelayOptions) {
    const op = 'EpollRelayPlatform.create';
    if (!(table instanceof RelayRouteTable)) throw invalidArgument(op, `table must be a RelayRouteTable, got ${describeValue(table)}`);
    const o = checkObject<Partial<Record<keyof EpollRelayOptions, unknown>>>(op, 'options', options);
    const injector = checkInjectorSpec(op, o.injector);
    const sys = o.sys === undefined ? libcSyscalls() : checkObject<Syscalls>(op, 'sys', o.sys);
    this.stopTimeoutMs = checkInteger(op, 'stopTimeoutMs', o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, 0, 600_000);
    const startTimeoutMs = checkInteger(op, 'startTimeoutMs', o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, 1, 600_000);
    const startWorker = (o.startWorker ?? ((source: string, wo: WorkerOptions) => new Worker(source, wo))) as NonNullable<EpollRelayOptions['startWorker']>;
    checkFunction(op, 'startWorker', startWorker);
    this.sys = sys;
    this.watchedBuffer = new SharedArrayBuffer(table.slots * 4);
    this.watched = new Int32Array(this.watchedBuffer).fill(-1);
    const koffiPath = resolveKoffi(op);
    const source = epollWorkerSource();
    this.epollFd = check(sys.epollCreate(), op, 'epoll_create1(EPOLL_CLOEXEC)');
    let controlFd = -1;
    let worker: Worker | undefined;
    const cleanup = (): void => {
      // A worker that has not started must never touch the fds closed below (their numbers may be reused).
      Atomics.compareExchange(this.control, CTL_STATE, STATE_STARTING, STATE_CANCELLED);
      if (worker) void worker.terminate();
      if (controlFd >= 0) sys.close(controlFd);
      sys.close(this.epollFd);
    };
    try {
      controlFd = check(sys.eventfd(0, EFD_NONBLOCK), op, 'eventfd()');
      this.addToEpoll(op, controlFd, CONTROL_SLOT);
      const data: EpollWorkerData = {
        slots: table.slots,
        table: table.buffer,
        layout: SLOT_LAYOUT,
        control: this.controlBuffer,
        failure: this.failureBuffer,
        watched: this.watchedBuffer,
        epollFd: this.epollFd,
        controlFd,
        injector,
        koffiPath,
        libc: libcFileName(),
        prototypes: { read: LIBC_PROTOTYPES.read, ioctl: LIBC_PROTOTYPES.ioctlPtr, epollWait: LIBC_PROTOTYPES.epollWait },
        epollEventSize: EPOLL_EVENT.size,
        epollDataOffset: EPOLL_EVENT.fields.data.offset,
        eintr: EINTR,
      };
      let started: Worker;
      try {
        started = startWorker(source, { eval: true, workerData: data, name: 'tsvmm-epoll-relay' });
      } catch (e) {
        throw workerError(op, e instanceof Error ? e.message : String(e), e);
      }
      worker = started;
      started.unref(); // a relay never keeps the process alive; settle() refs while it waits
      // Errors while starting are collected only after this returns; the wait below is what counts.
      started.on('error', (e) => this.fail(`the relay worker crashed: ${e.message}`, e));
      Atomics.wait(this.control, CTL_STATE, STATE_STARTING, startTimeoutMs);
      const state = Atomics.compareExchange(this.control, CTL_STATE, STATE_STARTING, STATE_CANCELLED);
      if (state === STATE_FAILED) throw workerError(op, this.startFailure());
      if (state !== STATE_RUNNING) throw workerError(op, `it did not start within ${startTimeoutMs} ms`);
    } catch (e) {
      cleanup();
      throw e;
    }
    this.controlFd = controlFd;
    this.worker = worker!;
    this.worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.isDisposed) this.fail(`the relay worker exited (code ${code})`);
        resolve();
      });
    });
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // A worker blocked in epoll_wait cannot be terminated; tell it to leave before Node joins it.
      process.on('exit', () => {
        for (const p of [...live]) p.dispose();
      });
    }
  }

  /** The reason a worker left in the failure buffer. */
  private startFailure(): string {
    const length = new Int32Array(this.failureBuffer, 0, 1)[0]!;
    return new TextDecoder().decode(new Uint8Array(this.failureBuffer, 4, Math.min(length, FAILURE_BYTES - 4)).slice());
  }

  /** The eventfd the worker wakes on for settle and stop (for diagnostics and benchmarks). */
  get controlEventFd(): number {
    return this.controlFd;
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** The epoll set's fd (for diagnostics: its fdinfo lists the watched eventfds). */
  get epollFileDescriptor(): number {
    return this.epollFd;
  }

  /**
   * A new {@link EventFd} on the options' system calls. DISPOSED after dispose; EXHAUSTED when the
   * process or the system has no descriptor left (EMFILE, ENFILE); otherwise the typed error of
   * eventfd(2) or its dup.
   */
  createEvent(): Event {
    if (this.isDisposed) throw disposedError('RelayPlatform.createEvent', 'the epoll relay');
    return routeEventFd(this.sys, 'IrqFd.newIrqFdRoute');
  }

  /**
   * Adds `event`'s eventfd to the epoll set for `slot` (epoll_ctl ADD): its signals are then
   * injected by the worker. DISPOSED when this platform or the event is disposed; INTERNAL for an
   * event that is not an {@link EventFd}; the typed error of epoll_ctl when it fails.
   */
  watch(slot: number, event: Event): void {
    const fd = this.fdOf(event);
    if (this.isDisposed) throw disposedError('RelayPlatform.watch', 'the epoll relay');
    // Its fd number may already belong to another eventfd: adding it would relay that one's signals here.
    if (event.disposed) throw disposedError('RelayPlatform.watch', "the route's eventfd");
    this.addToEpoll('IrqFdRoute (arm relay route)', fd, slot);
    Atomics.store(this.watched, slot, fd);
  }

  /**
   * Stops injection for `slot`, then removes the eventfd from the epoll set (epoll_ctl DEL). The
   * DEL is skipped for a disposed event (closing it removed it from the set) or a disposed
   * platform (its epoll set is closed). Throws the typed error of epoll_ctl when the DEL fails.
   */
  unwatch(slot: number, event: Event): void {
    const fd = this.fdOf(event);
    Atomics.store(this.watched, slot, -1);
    // Closing an eventfd drops it from the epoll set; a DEL by its old number could remove
    // another route's eventfd that reuses that number.
    if (this.isDisposed || event.disposed) return;
    const r = this.sys.epollCtl(this.epollFd, EPOLL_CTL_DEL, fd, null);
    if (r < 0) {
      Atomics.store(this.watched, slot, fd);
      check(r, 'IrqFdRoute (disarm relay route)', `epoll_ctl(EPOLL_CTL_DEL, ${fd})`);
    }
  }

  /**
   * Resolves when the worker thread has fully exited and Node has released its own resources
   * (its event loop's fds). `dispose()` already stopped it from touching any route or fd.
   */
  whenClosed(): Promise<void> {
    return this.exited;
  }

  /**
   * Resolves once the worker has handled every signal raised before the call (woken through the
   * control eventfd, it drains the ready eventfds, then answers with a message). Resolves at once
   * after dispose; rejects with INTERNAL once the worker has failed or exited, and with the typed
   * error of the control eventfd's write when it fails.
   */
  settle(): Promise<void> {
    if (this.isDisposed) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    const seq = Atomics.add(this.control, CTL_SETTLE_SEQ, 1) + 1;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ seq, resolve, reject });
      this.worker.ref();
      const r = this.sys.write(this.controlFd, this.one, 8);
      if (r < 0) {
        this.pending.pop();
        if (this.pending.length === 0) this.worker.unref();
        reject(failure(r, 'RelayPlatform.settle', 'write(control eventfd)'));
      }
    });
  }

  /** Stops and joins the worker (it leaves its loop before this returns), then closes the fds. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    live.delete(this);
    Atomics.store(this.control, CTL_STOP, 1);
    this.sys.write(this.controlFd, this.one, 8);
    // Bounded: a running worker leaves epoll_wait at once (the control eventfd); one stuck in an
    // injection is given stopTimeoutMs, then its fds are closed anyway (it checks CTL_STOP first).
    Atomics.wait(this.control, CTL_EXITED, 0, this.stopTimeoutMs);
    void this.worker.terminate();
    this.sys.close(this.controlFd);
    this.sys.close(this.epollFd);
    for (const p of this.pending) p.resolve();
    this.pending = [];
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  private fdOf(event: Event): number {
    if (!(event instanceof EventFd)) {
      throw new VirtError('INTERNAL', { operation: 'EpollRelayPlatform', detail: `cannot wait on a ${event.kind} event`, hint: 'Use events from this platform.' });
    }
    return event.ownFd();
  }

  private addToEpoll(op: string, fd: number, slot: number): void {
    // epoll data: the slot in the low word, the fd in the high word (read back by the worker).
    const { events, data } = EPOLL_EVENT.fields;
    this.eventView.setUint32(events.offset, EPOLLIN, true);
    this.eventView.setUint32(data.offset, slot >>> 0, true);
    this.eventView.setInt32(data.offset + 4, fd, true);
    check(this.sys.epollCtl(this.epollFd, EPOLL_CTL_ADD, fd, this.eventBuf), op, `epoll_ctl(EPOLL_CTL_ADD, ${fd})`);
  }

  private onMessage(m: WorkerMessage): void {
    if ('error' in m) {
      this.fail(`the relay worker failed: ${m.error}`);
      return;
    }
    const still: PendingSettle[] = [];
    for (const p of this.pending) {
      if (p.seq <= m.settled) p.resolve();
      else still.push(p);
    }
    this.pending = still;
    if (still.length === 0) this.worker.unref();
  }

  private fail(detail: string, cause?: unknown): void {
    this.failure ??= new VirtError('INTERNAL', {
      operation: 'EpollRelayPlatform',
      detail,
      hint: 'Relay routes no longer deliver: dispose the partition and report this.',
      cause,
    });
    for (const p of this.pending) p.reject(this.failure);
    this.pending = [];
  }
}

/**
 * A {@link RelayPlatformFactory} for `RelayIrqFd` or an engine's overflow path: each call creates
 * an {@link EpollRelayPlatform} on the given table with `options` (its errors are the constructor's).
 */
export function epollRelayPlatform(options: EpollRelayOptions): RelayPlatformFactory {
  return (table) => new EpollRelayPlatform(table, options);
}
