/**
 * The relay's waiter thread: blocks in epoll_wait on every armed route's eventfd and injects on
 * this thread (no hop through the main thread). Started by {@link EpollRelayPlatform}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type RawInjector, RelayRouteTable } from '@tsvmm/virt';
import { EPOLL_EVENT } from '../abi/linux';
import { EINTR } from '../errno';
import { libcSyscalls } from '../libc';
import { CONTROL_SLOT, CTL_EXITED, CTL_SETTLE_SEQ, CTL_STOP, type EpollWorkerData, type WorkerMessage } from './protocol';

const MAX_EVENTS = 256;
const EVENT_SIZE = EPOLL_EVENT.size;
const DATA = EPOLL_EVENT.fields.data.offset;
/** Bounds the settle drain so a device signalling nonstop cannot starve the acknowledgement. */
const MAX_DRAIN_ROUNDS = 64;

function run(data: EpollWorkerData): void {
  const sys = libcSyscalls();
  const table = new RelayRouteTable(data.slots, data.table);
  const control = new Int32Array(data.control);
  const watched = new Int32Array(data.watched);
  // The injector is chosen at run time by the backend (a module path is all a worker can take).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = (require(data.injector.module) as Record<string, unknown>)[data.injector.exportName];
  if (typeof factory !== 'function') throw new Error(`${data.injector.module} has no function export ${data.injector.exportName}`);
  const inject = (factory as (...args: unknown[]) => RawInjector)(...data.injector.args);

  const events = new Uint8Array(MAX_EVENTS * EVENT_SIZE);
  const ev = new DataView(events.buffer);
  const counter = new Uint8Array(8);
  const cv = new DataView(counter.buffer);
  let slot = 0;
  let fd = -1;
  // Runs under the slot lock (inside deliver): reads only the eventfd the main thread still watches
  // for this slot, so a stale readiness never drains another route's event.
  const consume = (): number => {
    if (Atomics.load(watched, slot) !== fd) return 0;
    if (sys.read(fd, counter, 8) !== 8) return 0;
    return cv.getUint32(0, true) + cv.getUint32(4, true) * 0x1_0000_0000;
  };

  /** Handles one epoll_wait result; returns the number of route events, or -1-that if the control fd was ready. */
  const handle = (n: number): number => {
    let routes = 0;
    let sawControl = false;
    for (let i = 0; i < n; i++) {
      const s = ev.getUint32(i * EVENT_SIZE + DATA, true);
      if (s === CONTROL_SLOT) {
        sawControl = true;
        continue;
      }
      slot = s;
      fd = ev.getInt32(i * EVENT_SIZE + DATA + 4, true);
      routes++;
      table.deliver(slot, consume, inject);
    }
    return sawControl ? -1 - routes : routes;
  };

  for (;;) {
    const n = sys.epollWait(data.epollFd, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (n === -EINTR) continue;
      throw new Error(`epoll_wait failed with errno ${-n}`);
    }
    if (handle(n) >= 0) continue;
    // Consume the control counter before reading the request sequence: a settle that raced past
    // this read writes the counter again and wakes the next round.
    sys.read(data.controlFd, counter, 8);
    if (Atomics.load(control, CTL_STOP) !== 0) return;
    const seq = Atomics.load(control, CTL_SETTLE_SEQ);
    for (let round = 0; round < MAX_DRAIN_ROUNDS; round++) {
      const m = sys.epollWait(data.epollFd, events, MAX_EVENTS, 0);
      if (m <= 0) break;
      let routes = handle(m);
      if (routes < 0) {
        routes = -1 - routes;
        sys.read(data.controlFd, counter, 8);
        if (Atomics.load(control, CTL_STOP) !== 0) return;
      }
      if (routes === 0) break;
    }
    parentPort!.postMessage({ settled: seq } satisfies WorkerMessage);
  }
}

const data = workerData as EpollWorkerData;
try {
  run(data);
} catch (e) {
  parentPort!.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerMessage);
} finally {
  const control = new Int32Array(data.control);
  Atomics.store(control, CTL_EXITED, 1);
  Atomics.notify(control, CTL_EXITED);
}
