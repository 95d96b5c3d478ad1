/**
 * The relay's route state, in shared memory so that a waiter thread can deliver without a hop
 * through the main thread. Both sides change a slot only under its lock, so a delivery never
 * sees a half-updated MSI and a mask never races with an injection.
 *
 * Layout: `WORDS_PER_SLOT` Int32 words per slot.
 */
import { invalidArgument } from '../errors';
import { checkInteger, describeValue } from '../validate';

import { SLOT_LAYOUT, type SlotLayout, deliverSlot, lockSlot, unlockSlot } from './slot-ops';

/** Int32 words per slot of the table ({@link SLOT_LAYOUT}`.words`): a slot is `WORDS_PER_SLOT * 4` bytes. */
export const WORDS_PER_SLOT = SLOT_LAYOUT.words;

/** Index in the table's Int32 view of word `field` ({@link SLOT_LAYOUT}) of slot `slot`. */
function wordOf(slot: number, field: Exclude<keyof SlotLayout, 'words' | 'armed'>): number {
  return slot * WORDS_PER_SLOT + SLOT_LAYOUT[field];
}

/** Most slots one table holds. */
export const MAX_SLOTS = 1 << 20;

/** Flags word: the route has an MSI. */
export const FLAG_HAS_MSI = 1;
/** Flags word: the route is masked. */
export const FLAG_MASKED = 2;

/** The MSI injector a waiter calls: true when delivered, false when the guest blocked it. */
export type RawInjector = (addressLo: number, addressHi: number, data: number) => boolean;

/**
 * What one {@link RelayRouteTable.deliver} did: `delivered` (injected), `blocked` (injected, the
 * guest refused it), `idle` (the event had no signal), `not-armed` (left latched in the event) or
 * `failed` (the injector threw; counted in {@link RelayRouteTable.failed}).
 */
export type DeliverOutcome = 'delivered' | 'blocked' | 'idle' | 'not-armed' | 'failed';

/**
 * The relay's per-route state (lock, flags, MSI, counters), {@link WORDS_PER_SLOT} Int32 words per
 * slot in a SharedArrayBuffer, so a waiter thread can deliver without a hop through the main thread.
 * Methods marked "under the lock" expect the caller to hold the slot's lock and do not check `slot`.
 */
export class RelayRouteTable {
  /** The shared memory of the table: `slots * WORDS_PER_SLOT * 4` bytes or more; hand it to the waiter thread. */
  readonly buffer: SharedArrayBuffer;
  /** Number of slots, 1 to {@link MAX_SLOTS}. */
  readonly slots: number;
  private readonly view: Int32Array;

  /**
   * `slots` routes (1 to 2^20), in `buffer` when given (a SharedArrayBuffer of at least
   * `slots * WORDS_PER_SLOT * 4` bytes, shared with a waiter thread). INVALID_ARGUMENT otherwise.
   */
  constructor(slots: number, buffer?: SharedArrayBuffer) {
    const op = 'RelayRouteTable';
    this.slots = checkInteger(op, 'slots', slots, 1, MAX_SLOTS);
    const bytes = slots * WORDS_PER_SLOT * 4;
    if (buffer !== undefined && (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < bytes)) {
      throw invalidArgument(op, `buffer must be a SharedArrayBuffer of at least ${bytes} bytes, got ${describeValue(buffer)}`);
    }
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    this.view = new Int32Array(this.buffer);
  }

  /** Takes the slot's lock (spins, then sleeps briefly). INVALID_ARGUMENT for a slot out of range. */
  lock(slot: number): void {
    if (!(typeof slot === 'number' && slot >>> 0 === slot && slot < this.slots)) {
      throw invalidArgument('RelayRouteTable.lock', `slot must be an integer from 0 to ${this.slots - 1}, got ${describeValue(slot)}`);
    }
    lockSlot(this.view, wordOf(slot, 'lock'));
  }

  /** Releases the slot's lock and wakes one thread sleeping on it. Call only while holding the lock. */
  unlock(slot: number): void {
    unlockSlot(this.view, wordOf(slot, 'lock'));
  }

  /** Read under the lock. */
  flags(slot: number): number {
    return this.view[wordOf(slot, 'flags')]!;
  }

  /** Write under the lock. */
  setFlags(slot: number, flags: number): void {
    this.view[wordOf(slot, 'flags')] = flags;
  }

  /** Write under the lock. */
  setMsi(slot: number, addressLo: number, addressHi: number, data: number): void {
    this.view[wordOf(slot, 'addressLo')] = addressLo | 0;
    this.view[wordOf(slot, 'addressHi')] = addressHi | 0;
    this.view[wordOf(slot, 'data')] = data | 0;
  }

  /** Clears a slot for reuse. Under the lock. */
  reset(slot: number): void {
    const b = slot * WORDS_PER_SLOT;
    for (let w = 1; w < WORDS_PER_SLOT; w++) this.view[b + w] = 0;
  }

  /** Signals delivered through this slot (by either thread). */
  delivered(slot: number): number {
    return Atomics.load(this.view, wordOf(slot, 'delivered'));
  }

  /** Injections that threw in the waiter (the signal is then re-latched or lost; see `deliver`). */
  failed(slot: number): number {
    return Atomics.load(this.view, wordOf(slot, 'failed'));
  }

  /**
   * The delivery step, run by whoever saw the event become ready (waiter thread or main thread):
   * under the slot's lock, if the route is armed, consume the event and inject the MSI once.
   * A route that is not armed is left alone: its signal stays latched in the event.
   */
  deliver(slot: number, consume: () => number, inject: RawInjector): DeliverOutcome {
    return deliverSlot(this.view, slot, SLOT_LAYOUT, consume, inject, lockSlot, unlockSlot);
  }
}

/** Whether a flags word means armed: an MSI ({@link FLAG_HAS_MSI}) and not masked ({@link FLAG_MASKED}). */
export function isArmed(flags: number): boolean {
  return flags === SLOT_LAYOUT.armed;
}
