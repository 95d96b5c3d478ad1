/**
 * The relay's waiter thread: blocks in epoll_wait on every armed route's eventfd and injects on
 * this thread (no hop through the main thread). Started by {@link EpollRelayPlatform} from source
 * text ({@link epollWorkerSource}), so it needs no file on disk and survives bundling: everything
 * it uses arrives as data (`workerData`) or as the self-contained slot functions of `@tsvmm/virt`.
 *
 * `epollWorkerMain` must therefore have no free variables: no imports, no module constants.
 */
import type * as WorkerThreads from 'node:worker_threads';
import { deliverSlot, encodeMsiFields, lockSlot, unlockSlot } from '@tsvmm/virt/implement';
import type { EpollWorkerData, WorkerMessage } from './protocol';
import { type SpecInjectorBuffer, ioctlSpecInjector } from './spec-injector';

type Deliver = typeof deliverSlot;
type Lock = typeof lockSlot;

/** The worker's whole program. Runs in the worker thread only (see the module comment). */
export function epollWorkerMain(
  wt: typeof WorkerThreads,
  lock: Lock,
  unlock: Lock,
  deliver: Deliver,
  encode: typeof encodeMsiFields,
  build: typeof ioctlSpecInjector,
): void {
  const data = wt.workerData as EpollWorkerData;
  const control = new Int32Array(data.control);
  // Word offsets of the control array (protocol.ts): STOP 0, SETTLE_SEQ 1, EXITED 2, STATE 3.
  const STOP = 0;
  const SETTLE_SEQ = 1;
  const STATE = 3;
  const STARTING = 0;
  const RUNNING = 1;
  const FAILED = 2;
  const CONTROL_SLOT = 0xffffffff;
  const MAX_EVENTS = 256;
  /** Bounds the settle drain so a device signalling nonstop cannot starve the acknowledgement. */
  const MAX_DRAIN_ROUNDS = 64;

  const reportStartFailure = (reason: string): void => {
    const bytes = new TextEncoder().encode(reason).subarray(0, data.failure.byteLength - 4);
    new Uint8Array(data.failure, 4).set(bytes);
    new Int32Array(data.failure, 0, 1)[0] = bytes.length;
    if (Atomics.compareExchange(control, STATE, STARTING, FAILED) === STARTING) Atomics.notify(control, STATE);
  };

  // --- start: bind libc, build the injector; any failure is reported before any fd is touched.
  let epollWait: (epfd: number, events: Uint8Array, n: number, timeout: number) => number;
  let read: (fd: number, buf: Uint8Array, n: number) => number;
  let errno: () => number;
  let inject: (lo: number, hi: number, d: number) => boolean;
  let freeInjector = (): void => {};
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require(data.koffiPath) as {
      load(p: string): { func(p: string): unknown };
      errno(): number;
      alloc(type: string, length: number): unknown;
      address(pointer: unknown): bigint;
      view(pointer: unknown, length: number): ArrayBuffer;
      free(pointer: unknown): void;
    };
    const lib = koffi.load(data.libc);
    epollWait = lib.func(data.prototypes.epollWait) as typeof epollWait;
    read = lib.func(data.prototypes.read) as typeof read;
    const ioctl = lib.func(data.prototypes.ioctl) as (fd: number, request: number, arg: Uint8Array) => number;
    errno = () => koffi.errno();
    const spec = data.injector;
    if (spec.kind === 'ioctl') {
      // koffi's allocator: memory the garbage collector never moves, so its address can be handed to the kernel.
      const owners = new Map<SpecInjectorBuffer, unknown>();
      const built = build(
        spec,
        {
          ioctl: (fd, request, arg) => {
            const r = ioctl(fd, request, arg);
            return r < 0 ? -koffi.errno() : r;
          },
          allocate: (size, align) => {
            const pointer = koffi.alloc('uint8_t', size + align);
            const base = koffi.address(pointer);
            const skip = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
            const bytes = new Uint8Array(koffi.view(pointer, size + align), skip, size);
            bytes.fill(0);
            const buffer = { address: base + BigInt(skip), bytes };
            owners.set(buffer, pointer);
            return buffer;
          },
          free: (buffer) => {
            const pointer = owners.get(buffer);
            owners.delete(buffer);
            if (pointer !== undefined) koffi.free(pointer);
          },
        },
        encode,
      );
      inject = built.inject;
      freeInjector = built.free;
    } else {
      const v = new Int32Array(spec.buffer);
      inject = (lo, hi, d) => {
        v[1] = lo | 0;
        v[2] = hi | 0;
        v[3] = d | 0;
        Atomics.add(v, 0, 1);
        return true;
      };
    }
  } catch (e) {
    freeInjector();
    reportStartFailure(e instanceof Error ? e.message : String(e));
    return;
  }
  // The main thread may have given up waiting (CANCELLED): then its fds are closed, maybe reused.
  if (Atomics.compareExchange(control, STATE, STARTING, RUNNING) !== STARTING) {
    freeInjector();
    return;
  }
  Atomics.notify(control, STATE);

  const table = new Int32Array(data.table);
  const watched = new Int32Array(data.watched);
  const size = data.epollEventSize;
  const at = data.epollDataOffset;
  const events = new Uint8Array(MAX_EVENTS * size);
  const ev = new DataView(events.buffer);
  const counter = new Uint8Array(8);
  const cv = new DataView(counter.buffer);
  let slot = 0;
  let fd = -1;
  // Runs under the slot lock (inside deliver): reads only the eventfd the main thread still watches
  // for this slot, so a stale readiness never drains another route's event.
  const consume = (): number => {
    if (Atomics.load(watched, slot) !== fd) return 0;
    if (read(fd, counter, 8) !== 8) return 0;
    return cv.getUint32(0, true) + cv.getUint32(4, true) * 0x1_0000_0000;
  };

  /** Handles one epoll_wait result; returns the number of route events, or -1-that if the control fd was ready. */
  const handle = (n: number): number => {
    let routes = 0;
    let sawControl = false;
    for (let i = 0; i < n; i++) {
      const s = ev.getUint32(i * size + at, true);
      if (s === CONTROL_SLOT) {
        sawControl = true;
        continue;
      }
      slot = s;
      fd = ev.getInt32(i * size + at + 4, true);
      routes++;
      deliver(table, slot, data.layout, consume, inject, lock, unlock);
    }
    return sawControl ? -1 - routes : routes;
  };

  try {
    for (;;) {
      if (Atomics.load(control, STOP) !== 0) return;
      const n = epollWait(data.epollFd, events, MAX_EVENTS, -1);
      if (n < 0) {
        const e = errno();
        if (e === data.eintr) continue;
        throw new Error(`epoll_wait failed with errno ${e}`);
      }
      if (handle(n) >= 0) continue;
      // Consume the control counter before reading the request sequence: a settle that raced past
      // this read writes the counter again and wakes the next round.
      read(data.controlFd, counter, 8);
      if (Atomics.load(control, STOP) !== 0) return;
      const seq = Atomics.load(control, SETTLE_SEQ);
      for (let round = 0; round < MAX_DRAIN_ROUNDS; round++) {
        const m = epollWait(data.epollFd, events, MAX_EVENTS, 0);
        if (m <= 0) break;
        let routes = handle(m);
        if (routes < 0) {
          routes = -1 - routes;
          read(data.controlFd, counter, 8);
          if (Atomics.load(control, STOP) !== 0) return;
        }
        if (routes === 0) break;
      }
      wt.parentPort!.postMessage({ settled: seq } satisfies WorkerMessage);
    }
  } finally {
    freeInjector();
  }
}

/**
 * The worker's program as source text for `new Worker(source, { eval: true })`: the main function
 * and the slot functions it is given, with no reference to any file or package.
 */
export function epollWorkerSource(): string {
  return [
    `'use strict';`,
    `const wt = require('node:worker_threads');`,
    `const control = new Int32Array(wt.workerData.control);`,
    `try {`,
    `  (${epollWorkerMain.toString()})(wt, ${lockSlot.toString()}, ${unlockSlot.toString()}, ${deliverSlot.toString()}, ${encodeMsiFields.toString()}, ${ioctlSpecInjector.toString()});`,
    `} catch (e) {`,
    `  wt.parentPort.postMessage({ error: e instanceof Error ? (e.stack || e.message) : String(e) });`,
    `} finally {`,
    // CTL_EXITED (word 2): the worker touches no fd any more.
    `  Atomics.store(control, 2, 1);`,
    `  Atomics.notify(control, 2);`,
    `}`,
  ].join('\n');
}
