/**
 * The Windows platform of the user-space relay (`RelayIrqFd` from @tsvmm/virt), for a WHP without
 * interrupt triggers: each route's event is a manual-reset Win32 event, and one waiter thread
 * (see waiter-worker.ts) waits on all of them and injects with WHvRequestInterrupt.
 *
 * A handle the waiter may be waiting on is never closed under it: a retired event's handle is
 * closed once the waiter has read a newer watched set (or has stopped).
 */
import { Worker } from 'node:worker_threads';
import { type Event, VirtError } from '@tsvmm/virt';
import { type RelayPlatform, type RelayRouteTable, disposedError, SLOT_LAYOUT } from '@tsvmm/virt/implement';
import { WAIT_OBJECT_0, WAIT_TIMEOUT, WHV_INTERRUPT_CONTROL } from '../abi';
import { WAITER_PROTOTYPES, type WhpCalls, type WhpLibraryPaths } from '../calls';
import { INTERRUPT_CONTROL_FIELDS } from '../encode';
import { CONTROL_WORD, CONTROL_WORDS, ROUTES_PER_WAIT, type WaiterData } from './protocol';
import { whpWaiterSource } from './waiter-worker';

const SETTLE_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;

/** Platforms whose waiter may be running: disposed at process exit. */
const live = new Set<Win32RelayPlatform>();
let exitHookInstalled = false;

/** A relay route's event: `dispose()` hands it back; the platform closes the handle when the waiter let go. */
export class RelayWin32Event implements Event {
  readonly kind = 'win32-event' as const;
  readonly fd = undefined;
  private isDisposed = false;

  constructor(
    private readonly platform: Win32RelayPlatform,
    readonly handle: bigint,
  ) {}

  get disposed(): boolean {
    return this.isDisposed;
  }

  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the event');
    this.platform.calls.setEvent(this.handle);
  }

  /**
   * 1 if signalled, and resets it. The event is manual-reset, so the waiter's wait only observes a
   * signal and the signal is taken here, under the route's slot lock, by whoever delivers it. A
   * signal raised between the look and the reset is covered by the injection that follows.
   */
  consume(): number {
    if (this.isDisposed) return 0;
    if (!this.platform.calls.waitOne(this.handle, 0)) return 0;
    this.platform.calls.resetEvent(this.handle);
    return 1;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.platform.forget(this.handle);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

export interface Win32RelayOptions {
  readonly calls: WhpCalls;
  readonly library: WhpLibraryPaths;
  readonly partition: bigint;
  /** Wait length when more than 63 routes are armed (ms); default 1. */
  readonly pollMs?: number;
}

/** Where koffi is, for the waiter (which runs from source text and cannot resolve packages itself). */
function resolveKoffi(): string {
  try {
    return require.resolve('koffi');
  } catch (e) {
    throw new VirtError('UNAVAILABLE', {
      operation: 'WhpPartition.create',
      detail: `koffi cannot be resolved for the relay waiter thread (${e instanceof Error ? e.message : String(e)})`,
      hint: 'Install koffi next to @tsvmm/virt-whp (when bundling, keep koffi external: it ships a native module).',
      cause: e,
    });
  }
}

export class Win32RelayPlatform implements RelayPlatform {
  readonly name = 'one WaitForMultipleObjects waiter thread, 63 routes per wait';
  readonly calls: WhpCalls;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly handles: BigInt64Array;
  private readonly controlEvent: bigint;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly closing: Array<{ handle: bigint; gen: number }> = [];
  private failure: VirtError | undefined;
  private isDisposed = false;

  constructor(table: RelayRouteTable, options: Win32RelayOptions) {
    this.calls = options.calls;
    this.handles = new BigInt64Array(new SharedArrayBuffer(table.slots * 8));
    const koffiPath = resolveKoffi();
    this.controlEvent = this.calls.createEvent(false);
    const data: WaiterData = {
      library: options.library,
      partition: options.partition,
      slots: table.slots,
      table: table.buffer,
      layout: SLOT_LAYOUT,
      handles: this.handles.buffer as SharedArrayBuffer,
      control: this.ctl.buffer,
      ctl: CONTROL_WORD,
      controlEvent: this.controlEvent,
      pollMs: options.pollMs ?? 1,
      routesPerWait: ROUTES_PER_WAIT,
      koffiPath,
      prototypes: WAITER_PROTOTYPES,
      waitObject0: WAIT_OBJECT_0,
      waitTimeout: WAIT_TIMEOUT,
      controlSize: WHV_INTERRUPT_CONTROL.size,
      controlFields: INTERRUPT_CONTROL_FIELDS,
    };
    try {
      this.worker = new Worker(whpWaiterSource(), { eval: true, workerData: data, name: 'tsvmm-whp-relay' });
    } catch (e) {
      this.calls.closeHandle(this.controlEvent);
      throw new VirtError('INTERNAL', { operation: 'WhpPartition.create', detail: `could not start the relay waiter thread (${String(e)})`, cause: e });
    }
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // Node joins every worker at exit, and a waiter in a native wait with no timeout never
      // returns on its own: tell each live one to leave first.
      process.on('exit', () => {
        for (const p of [...live]) p.dispose();
      });
    }
    this.worker.on('error', (e) => {
      this.failure = new VirtError('INTERNAL', {
        operation: 'relay waiter thread',
        detail: `the waiter thread stopped: ${e.message}`,
        hint: 'Routes no longer deliver; dispose the partition and create a new one.',
        cause: e,
      });
    });
  }

  createEvent(): Event {
    if (this.isDisposed) throw disposedError('RelayPlatform.createEvent', 'the WHP relay');
    this.flush();
    return new RelayWin32Event(this, this.calls.createEvent(true));
  }

  watch(slot: number, event: Event): void {
    if (this.isDisposed) throw disposedError('RelayPlatform.watch', 'the WHP relay');
    if (event.disposed) throw disposedError('RelayPlatform.watch', "the route's event");
    Atomics.store(this.handles, slot, BigInt.asIntN(64, event.handle!));
    this.changed();
  }

  unwatch(slot: number, _event: Event): void {
    Atomics.store(this.handles, slot, 0n);
    if (!this.isDisposed) this.changed();
  }

  /** @internal Forgets a disposed event's `handle`: closes it once the waiter no longer uses it. */
  forget(handle: bigint): void {
    for (let s = 0; s < this.handles.length; s++) if (BigInt.asUintN(64, Atomics.load(this.handles, s)) === handle) Atomics.store(this.handles, s, 0n);
    if (this.isDisposed) {
      this.close(handle);
      return;
    }
    this.closing.push({ handle, gen: this.changed() });
    this.flush();
  }

  async settle(): Promise<void> {
    if (this.isDisposed) return;
    const req = Atomics.add(this.ctl, CONTROL_WORD.settleReq, 1) + 1;
    this.calls.setEvent(this.controlEvent);
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (Atomics.load(this.ctl, CONTROL_WORD.settleAck) < req) {
      const failure = this.failed();
      if (failure) throw failure;
      if (Atomics.load(this.ctl, CONTROL_WORD.exited) !== 0) {
        await new Promise((resolve) => setTimeout(resolve, 20)); // let the worker's error arrive: it says why
        throw this.failed() ?? new VirtError('INTERNAL', { operation: 'IrqFd.settle', detail: 'the relay waiter thread has exited', hint: 'Dispose the partition and create a new one.' });
      }
      if (Date.now() > deadline) {
        throw new VirtError('UNAVAILABLE', { operation: 'IrqFd.settle', detail: `the relay waiter did not answer within ${SETTLE_TIMEOUT_MS} ms` });
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.flush();
  }

  /** Stops the waiter (it leaves its wait at once), then closes every retired handle and the control event. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    live.delete(this);
    Atomics.store(this.ctl, CONTROL_WORD.stop, 1);
    try {
      this.calls.setEvent(this.controlEvent);
      Atomics.wait(this.ctl, CONTROL_WORD.exited, 0, STOP_TIMEOUT_MS);
    } catch {
      // The waiter is told through CONTROL_WORD.stop as well; closing below ends any wait it is in.
    }
    void this.worker.terminate();
    for (const c of this.closing.splice(0)) this.close(c.handle);
    this.close(this.controlEvent);
  }

  /** After {@link dispose}: resolves once the waiter thread has exited. */
  whenClosed(): Promise<void> {
    return this.exited;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Why the waiter thread stopped, once its error event arrived. */
  private failed(): VirtError | undefined {
    return this.failure;
  }

  /** Publishes a new watched set and wakes the waiter; returns its generation. */
  private changed(): number {
    const gen = Atomics.add(this.ctl, CONTROL_WORD.gen, 1) + 1;
    try {
      this.calls.setEvent(this.controlEvent);
    } catch {
      // The control event is ours; the waiter also re-reads the set on its next wake.
    }
    return gen;
  }

  private flush(): void {
    const ack = Atomics.load(this.ctl, CONTROL_WORD.ackGen);
    for (let i = this.closing.length - 1; i >= 0; i--) {
      if (this.closing[i]!.gen <= ack) this.close(this.closing.splice(i, 1)[0]!.handle);
    }
  }

  private close(handle: bigint): void {
    try {
      this.calls.closeHandle(handle);
    } catch {
      // Closed once by construction; nothing to do on failure.
    }
  }
}
