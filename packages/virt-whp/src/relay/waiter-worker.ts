/**
 * The relay's one waiter thread for all routes: WaitForMultipleObjects on the control event and
 * the watched route events, at most 63 of them per wait. Up to 63 armed routes it blocks until
 * something happens; beyond that it visits each group in turn with a short timeout. Route events
 * are manual-reset, so a wait only observes a signal: it is taken (reset) and injected with
 * WHvRequestInterrupt under the slot's lock, so a route disarmed or disposed meanwhile keeps it.
 *
 * Started by `Win32RelayPlatform` from source text ({@link whpWaiterSource}), so it needs no file
 * on disk and survives bundling: everything it uses arrives as data (`workerData`) or as the
 * self-contained functions of `@tsvmm/virt/implement`. `whpWaiterMain` therefore has no free
 * variables: no imports, no module constants.
 */
import type * as WorkerThreads from 'node:worker_threads';
import { deliverSlot, encodeMsiFields, lockSlot, unlockSlot } from '@tsvmm/virt/implement';
import type { WaiterData } from './protocol';

type Lock = typeof lockSlot;

/** The waiter's whole program. Runs in the waiter thread only (see the module comment). */
export function whpWaiterMain(wt: typeof WorkerThreads, lock: Lock, unlock: Lock, deliverSlotFn: typeof deliverSlot, encode: typeof encodeMsiFields): void {
  const data = wt.workerData as WaiterData;
  const ctl = new Int32Array(data.control);
  const C = data.ctl;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require(data.koffiPath) as { load(p: string): { func(p: string): unknown } };
    const k32 = koffi.load(data.library.kernel32);
    const whp = koffi.load(data.library.whp);
    const waitSingle = k32.func(data.prototypes.waitForSingleObject) as (h: bigint, ms: number) => number;
    const waitMultiple = k32.func(data.prototypes.waitForMultipleObjects) as (n: number, handles: Uint8Array, all: number, ms: number) => number;
    const resetEvent = k32.func(data.prototypes.resetEvent) as (h: bigint) => number;
    const request = whp.func(data.prototypes.requestInterrupt) as (p: bigint, c: Uint8Array, n: number) => number;
    const table = new Int32Array(data.table);
    const handles = new BigInt64Array(data.handles);
    const control = new Uint8Array(data.controlSize);
    const controlView = new DataView(control.buffer);
    const waitBuffer = new Uint8Array(8 * (data.routesPerWait + 1));
    const waitView = new DataView(waitBuffer.buffer);

    const waitOne = (handle: bigint): boolean => {
      const r = waitSingle(handle, 0) >>> 0;
      if (r === data.waitObject0) return true;
      if (r === data.waitTimeout) return false;
      throw new Error(`WaitForSingleObject failed (result 0x${r.toString(16)})`);
    };
    /** Index of the signalled handle, or -1 on timeout. */
    const waitAny = (list: readonly bigint[], ms: number): number => {
      list.forEach((h, i) => waitView.setBigUint64(8 * i, h, true));
      const r = waitMultiple(list.length, waitBuffer, 0, ms) >>> 0;
      if (r === data.waitTimeout) return -1;
      if (r < list.length) return r;
      throw new Error(`WaitForMultipleObjects failed (result 0x${r.toString(16)})`);
    };
    const inject = (addressLo: number, addressHi: number, msiData: number): boolean => {
      encode(controlView, data.controlFields, addressLo, addressHi, msiData);
      const hr = request(data.partition, control, control.length) >>> 0;
      if ((hr & 0x80000000) !== 0) throw new Error(`WHvRequestInterrupt failed with HRESULT 0x${hr.toString(16)}`);
      return true;
    };
    /** Takes a manual-reset event's signal: only under the slot lock, inside deliverSlot. */
    const consume = (handle: bigint): number => {
      if (!waitOne(handle)) return 0;
      if (resetEvent(handle) === 0) throw new Error('ResetEvent failed');
      return 1;
    };
    /**
     * The wait saw this event signalled (manual-reset: it stays signalled). Deliver it under the
     * slot lock. Returns false when the route is no longer armed: the signal stays latched in the
     * event, and this pass must not wait on that event again (the next pass reads the new set).
     */
    const deliver = (slot: number, handle: bigint): boolean => deliverSlotFn(table, slot, data.layout, () => consume(handle), inject, lock, unlock) !== 'not-armed';
    /** Takes and delivers every signal already raised on these routes. Returns how many. */
    const drain = (group: ReadonlyArray<readonly [number, bigint]>): number => {
      let n = 0;
      let live = [...group];
      while (live.length > 0) {
        const i = waitAny(
          live.map(([, h]) => h),
          0,
        );
        if (i < 0) return n;
        const [slot, handle] = live[i]!;
        if (deliver(slot, handle)) n++;
        else live = live.filter((_, j) => j !== i);
      }
      return n;
    };

    let turn = 0;
    while (Atomics.load(ctl, C.stop) === 0) {
      const gen = Atomics.load(ctl, C.gen);
      const settle = Atomics.load(ctl, C.settleReq);
      const watched: Array<[number, bigint]> = [];
      for (let s = 0; s < data.slots; s++) {
        const h = Atomics.load(handles, s);
        if (h !== 0n) watched.push([s, BigInt.asUintN(64, h)]);
      }
      Atomics.store(ctl, C.ackGen, gen);
      Atomics.notify(ctl, C.ackGen);
      const groups: Array<Array<[number, bigint]>> = [];
      for (let i = 0; i < watched.length; i += data.routesPerWait) groups.push(watched.slice(i, i + data.routesPerWait));
      let delivered = 0;
      for (const g of groups) delivered += drain(g);
      Atomics.store(ctl, C.settleAck, settle);
      if (delivered > 0) continue;
      const g = groups.length === 0 ? [] : groups[turn++ % groups.length]!;
      const i = waitAny([data.controlEvent, ...g.map(([, h]) => h)], groups.length > 1 ? data.pollMs : 0xffffffff);
      if (i > 0) deliver(g[i - 1]![0], g[i - 1]![1]);
    }
  } finally {
    Atomics.store(ctl, C.exited, 1);
    Atomics.notify(ctl, C.exited);
  }
}

/**
 * The waiter's program as source text for `new Worker(source, { eval: true })`: the main function
 * and the slot functions and encoder it is given, with no reference to any file or package.
 */
export function whpWaiterSource(): string {
  return [
    `'use strict';`,
    `(${whpWaiterMain.toString()})(require('node:worker_threads'), ${lockSlot.toString()}, ${unlockSlot.toString()}, ${deliverSlot.toString()}, ${encodeMsiFields.toString()});`,
  ].join('\n');
}
