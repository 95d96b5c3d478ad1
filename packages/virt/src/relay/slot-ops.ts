/**
 * The delivery step of the relay, on one slot of the shared route table. These functions have no
 * free variables (everything comes in as an argument), because a waiter thread runs them from
 * their source text: the worker is started from a string so that it survives bundling, and this
 * keeps one definition of the step for both threads.
 */

/** Word offsets inside one slot of the route table (Int32 words). */
export interface SlotLayout {
  /** Words per slot. */
  readonly words: number;
  /** The lock word: 0 free, 1 held (see {@link lockSlot}). */
  readonly lock: number;
  /** The flags word: FLAG_HAS_MSI (1) and FLAG_MASKED (2). */
  readonly flags: number;
  /** The MSI address bits 31:0. */
  readonly addressLo: number;
  /** The MSI address bits 63:32. */
  readonly addressHi: number;
  /** The MSI data. */
  readonly data: number;
  /** Count of injections made through the slot. */
  readonly delivered: number;
  /** Count of injections that threw. */
  readonly failed: number;
  /** The flags word of an armed route (an MSI, not masked). */
  readonly armed: number;
}

/** The one layout of a slot. */
export const SLOT_LAYOUT: SlotLayout = Object.freeze({ words: 8, lock: 0, flags: 1, addressLo: 2, addressHi: 3, data: 4, delivered: 5, failed: 6, armed: 1 });

/** Takes the lock word at `index`: spins, then sleeps 1 ms at a time (the holder runs at most one injection). */
export function lockSlot(view: Int32Array, index: number): void {
  for (let spins = 0; Atomics.compareExchange(view, index, 0, 1) !== 0; spins++) {
    if (spins > 1000) Atomics.wait(view, index, 1, 1);
  }
}

/** Releases the lock word at `index`. */
export function unlockSlot(view: Int32Array, index: number): void {
  Atomics.store(view, index, 0);
  Atomics.notify(view, index, 1);
}

/**
 * Under the slot's lock: if the route is armed, consume its event and, if it was signalled, inject
 * the slot's MSI once. Returns what happened: `delivered`, `blocked` (the guest refused it),
 * `idle` (nothing to consume), `not-armed` (left latched) or `failed` (the injector threw; counted).
 */
export function deliverSlot(
  view: Int32Array,
  slot: number,
  layout: SlotLayout,
  consume: () => number,
  inject: (addressLo: number, addressHi: number, data: number) => boolean,
  lock: (view: Int32Array, index: number) => void,
  unlock: (view: Int32Array, index: number) => void,
): 'delivered' | 'blocked' | 'idle' | 'not-armed' | 'failed' {
  const b = slot * layout.words;
  lock(view, b + layout.lock);
  try {
    if (view[b + layout.flags] !== layout.armed) return 'not-armed';
    if (consume() === 0) return 'idle';
    try {
      const ok = inject(view[b + layout.addressLo]! >>> 0, view[b + layout.addressHi]! >>> 0, view[b + layout.data]! >>> 0);
      Atomics.add(view, b + layout.delivered, 1);
      return ok ? 'delivered' : 'blocked';
    } catch {
      Atomics.add(view, b + layout.failed, 1);
      return 'failed';
    }
  } finally {
    unlock(view, b + layout.lock);
  }
}
