/**
 * The relay's one waiter thread for all routes: WaitForMultipleObjects on the control event and
 * the watched route events, at most 63 of them per wait. Up to 63 armed routes it blocks until
 * something happens; beyond that it visits each group in turn with a short timeout. Route events
 * are manual-reset, so a wait only observes a signal: it is taken (reset) and injected with
 * WHvRequestInterrupt under the slot's lock, so a route disarmed or disposed meanwhile keeps it.
 */
import { workerData } from 'node:worker_threads';
import { RelayRouteTable } from '@tsvmm/virt';
import { whpCalls } from '../calls';
import { interruptControl } from '../encode';
import { CTL_ACK_GEN, CTL_EXITED, CTL_GEN, CTL_SETTLE_ACK, CTL_SETTLE_REQ, CTL_STOP, ROUTES_PER_WAIT, type WaiterData } from './protocol';

const data = workerData as WaiterData;
const calls = whpCalls(data.library);
const table = new RelayRouteTable(data.slots, data.table);
const handles = new BigInt64Array(data.handles);
const ctl = new Int32Array(data.control);
const inject = (addressLo: number, addressHi: number, msiData: number): boolean => {
  calls.requestInterrupt(data.partition, interruptControl({ addressLo, addressHi, data: msiData }));
  return true;
};

/** Takes a manual-reset event's signal: only under the slot lock, inside table.deliver. */
function consume(handle: bigint): number {
  if (!calls.waitOne(handle, 0)) return 0;
  calls.resetEvent(handle);
  return 1;
}

/**
 * The wait saw this event signalled (manual-reset: it stays signalled). Deliver it under the slot
 * lock. Returns false when the route is no longer armed: the signal stays latched in the event,
 * and this pass must not wait on that event again (the next pass reads the new watched set).
 */
function deliver(slot: number, handle: bigint): boolean {
  return table.deliver(slot, () => consume(handle), inject) !== 'not-armed';
}

/** Takes and delivers every signal already raised on these routes. Returns how many. */
function drain(group: ReadonlyArray<readonly [number, bigint]>): number {
  let n = 0;
  let live = [...group];
  while (live.length > 0) {
    const i = calls.waitAny(
      live.map(([, h]) => h),
      0,
    );
    if (i < 0) return n;
    const [slot, handle] = live[i]!;
    if (deliver(slot, handle)) n++;
    else live = live.filter((_, j) => j !== i);
  }
  return n;
}

try {
  let turn = 0;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    const gen = Atomics.load(ctl, CTL_GEN);
    const settle = Atomics.load(ctl, CTL_SETTLE_REQ);
    const watched: Array<[number, bigint]> = [];
    for (let s = 0; s < data.slots; s++) {
      const h = Atomics.load(handles, s);
      if (h !== 0n) watched.push([s, BigInt.asUintN(64, h)]);
    }
    Atomics.store(ctl, CTL_ACK_GEN, gen);
    Atomics.notify(ctl, CTL_ACK_GEN);
    const groups: Array<Array<[number, bigint]>> = [];
    for (let i = 0; i < watched.length; i += ROUTES_PER_WAIT) groups.push(watched.slice(i, i + ROUTES_PER_WAIT));
    let delivered = 0;
    for (const g of groups) delivered += drain(g);
    Atomics.store(ctl, CTL_SETTLE_ACK, settle);
    if (delivered > 0) continue;
    const g = groups.length === 0 ? [] : groups[turn++ % groups.length]!;
    const i = calls.waitAny([data.controlEvent, ...g.map(([, h]) => h)], groups.length > 1 ? data.pollMs : 0xffffffff);
    if (i > 0) deliver(g[i - 1]![0], g[i - 1]![1]);
  }
} finally {
  Atomics.store(ctl, CTL_EXITED, 1);
  Atomics.notify(ctl, CTL_EXITED);
}
