/**
 * The Linux platform of the user-space relay: every route's eventfd in one epoll set, one worker
 * thread blocked in epoll_wait for all of them, injecting on that thread through a
 * backend-specific injector built inside the worker (for KVM: KVM_SIGNAL_MSI on the VM fd).
 *
 * watch/unwatch are epoll_ctl calls made on the caller's thread (epoll sets may be changed while
 * another thread waits on them), so arming and disarming cost no message to the worker.
 */
import { Worker } from 'node:worker_threads';
import { type Event, type RelayPlatform, type RelayPlatformFactory, type RelayRouteTable, VirtError, disposedError } from '@tsvmm/virt';
import { EPOLL_EVENT } from '../abi/linux';
import { check, failure } from '../check';
import { EPOLLIN, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EFD_NONBLOCK } from '../constants';
import { EventFd } from '../eventfd';
import { libcSyscalls } from '../libc';
import { builtFile } from '../package-root';
import type { Syscalls } from '../syscalls';
import { CONTROL_SLOT, CTL_EXITED, CTL_SETTLE_SEQ, CTL_STOP, CTL_WORDS, type EpollWorkerData, type InjectorSpec, type WorkerMessage } from './protocol';

export type { InjectorSpec } from './protocol';

export interface EpollRelayOptions {
  /** Builds the injector inside the worker. */
  readonly injector: InjectorSpec;
  /** System calls for the main-thread side (events, epoll_ctl); the worker always uses libc. */
  readonly sys?: Syscalls;
  /** How long dispose waits for the worker to leave its loop before closing its fds anyway. */
  readonly stopTimeoutMs?: number;
}

const live = new Set<EpollRelayPlatform>();
let exitHookInstalled = false;

interface PendingSettle {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class EpollRelayPlatform implements RelayPlatform {
  readonly name = 'epoll worker thread';
  private readonly sys: Syscalls;
  private readonly controlBuffer = new SharedArrayBuffer(CTL_WORDS * 4);
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

  constructor(table: RelayRouteTable, options: EpollRelayOptions) {
    const op = 'EpollRelayPlatform.create';
    this.sys = options.sys ?? libcSyscalls();
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.watchedBuffer = new SharedArrayBuffer(table.slots * 4);
    this.watched = new Int32Array(this.watchedBuffer).fill(-1);
    let script: string;
    try {
      script = builtFile(__dirname, '@tsvmm/linux-sys', 'relay/epoll-worker.js');
    } catch (e) {
      throw new VirtError('INTERNAL', {
        operation: op,
        detail: `the relay worker script is missing (${e instanceof Error ? e.message : String(e)})`,
        hint: 'Build @tsvmm/linux-sys (npm run build in packages/linux-sys): worker threads load its dist, not TypeScript.',
        cause: e,
      });
    }
    this.epollFd = check(this.sys.epollCreate(), op, 'epoll_create1(EPOLL_CLOEXEC)');
    let controlFd = -1;
    try {
      controlFd = check(this.sys.eventfd(0, EFD_NONBLOCK), op, 'eventfd()');
      this.addToEpoll(op, controlFd, CONTROL_SLOT);
    } catch (e) {
      if (controlFd >= 0) this.sys.close(controlFd);
      this.sys.close(this.epollFd);
      throw e;
    }
    this.controlFd = controlFd;
    const data: EpollWorkerData = {
      slots: table.slots,
      table: table.buffer,
      control: this.controlBuffer,
      watched: this.watchedBuffer,
      epollFd: this.epollFd,
      controlFd,
      injector: options.injector,
    };
    try {
      this.worker = new Worker(script, { workerData: data, name: 'tsvmm-epoll-relay' });
    } catch (e) {
      this.sys.close(controlFd);
      this.sys.close(this.epollFd);
      throw new VirtError('INTERNAL', {
        operation: op,
        detail: `could not start the relay worker thread (${e instanceof Error ? e.message : String(e)})`,
        hint: 'Node could not create a worker thread (out of memory or threads?); free resources and retry.',
        cause: e,
      });
    }
    this.worker.unref(); // a relay never keeps the process alive; settle() refs while it waits
    this.worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(`the relay worker crashed: ${e.message}`, e));
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

  /** The eventfd the worker wakes on for settle and stop (for diagnostics and benchmarks). */
  get controlEventFd(): number {
    return this.controlFd;
  }

  /** The epoll set's fd (for diagnostics: its fdinfo lists the watched eventfds). */
  get epollFileDescriptor(): number {
    return this.epollFd;
  }

  createEvent(): Event {
    if (this.isDisposed) throw disposedError('RelayPlatform.createEvent', 'the epoll relay');
    return new EventFd(this.sys, 'IrqFd.newIrqFdRoute');
  }

  watch(slot: number, event: Event): void {
    const fd = this.fdOf(event);
    if (this.isDisposed) throw disposedError('RelayPlatform.watch', 'the epoll relay');
    // Its fd number may already belong to another eventfd: adding it would relay that one's signals here.
    if (event.disposed) throw disposedError('RelayPlatform.watch', "the route's eventfd");
    this.addToEpoll('IrqFdRoute (arm relay route)', fd, slot);
    Atomics.store(this.watched, slot, fd);
  }

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
  whenExited(): Promise<void> {
    return this.exited;
  }

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
    Atomics.wait(this.control, CTL_EXITED, 0, this.stopTimeoutMs);
    void this.worker.terminate();
    this.sys.close(this.controlFd);
    this.sys.close(this.epollFd);
    for (const p of this.pending) p.resolve();
    this.pending = [];
  }

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

/** A {@link RelayPlatformFactory} for `RelayIrqFd`. */
export function epollRelayPlatform(options: EpollRelayOptions): RelayPlatformFactory {
  return (table) => new EpollRelayPlatform(table, options);
}
