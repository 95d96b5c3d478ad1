/**
 * The relay's route state, in shared memory so that a waiter thread can deliver without a hop
 * through the main thread. Both sides change a slot only under its lock, so a delivery never
 * sees a half-updated MSI and a mask never races with an injection.
 *
 * Layout: `WORDS_PER_SLOT` Int32 words per slot.
 */
import { invalidArgument } from '../errors';
import { checkInteger, describeValue } from '../validate';

import { SLOT_LAYOUT, deliverSlot, lockSlot, unlockSlot } from './slot-ops';

const W_LOCK = SLOT_LAYOUT.lock;
const W_FLAGS = SLOT_LAYOUT.flags;
const W_ADDR_LO = SLOT_LAYOUT.addressLo;
const W_ADDR_HI = SLOT_LAYOUT.addressHi;
const W_DATA = SLOT_LAYOUT.data;
const W_DELIVERED = SLOT_LAYOUT.delivered;
const W_FAILED = SLOT_LAYOUT.failed;
/** Int32 words per slot of the table ({@link SLOT_LAYOUT}`.words`): a slot is `WORDS_PER_SLOT * 4` bytes. */
export const WORDS_PER_SLOT = SLOT_LAYOUT.words;
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
    lockSlot(this.view, slot * WORDS_PER_SLOT + W_LOCK);
  }

  /** Releases the slot's lock and wakes one thread sleeping on it. Call only while holding the lock. */
  unlock(slot: number): void {
    unlockSlot(this.view, slot * WORDS_PER_SLOT + W_LOCK);
  }

  /** Read under the lock. */
  flags(slot: number): number {
    return this.view[slot * WORDS_PER_SLOT + W_FLAGS]!;
  }

  /** Write under the lock. */
  setFlags(slot: number, flags: number): void {
    this.view[slot * WORDS_PER_SLOT + W_FLAGS] = flags;
  }

  /** Write under the lock. */
  setMsi(slot: number, addressLo: number, addressHi: number, data: number): void {
    const b = slot * WORDS_PER_SLOT;
    this.view[b + W_ADDR_LO] = addressLo | 0;
    this.view[b + W_ADDR_HI] = addressHi | 0;
    this.view[b + W_DATA] = data | 0;
  }

  /** Clears a slot for reuse. Under the lock. */
  reset(slot: number): void {
    const b = slot * WORDS_PER_SLOT;
    for (let w = 1; w < WORDS_PER_SLOT; w++) this.view[b + w] = 0;
  }

  /** Signals delivered through this slot (by either thread). */
  delivered(slot: number): number {
    return Atomics.load(this.view, slot * WORDS_PER_SLOT + W_DELIVERED);
  }

  /** Injections that threw in the waiter (the signal is then re-latched or lost; see `deliver`). */
  failed(slot: number): number {
    return Atomics.load(this.view, slot * WORDS_PER_SLOT + W_FAILED);
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
