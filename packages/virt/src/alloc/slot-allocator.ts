/**
 * A bounded allocator of small integers (route slots, KVM GSIs): always hands out the lowest free
 * number, refuses double frees.
 *
 * Free numbers are bits of a two-level bitmap: a summary word says which 32-bit words still have a
 * free bit, so finding the lowest free number costs a scan of `capacity / 1024` summary words plus
 * two count-trailing-zeros, which is constant for the sizes in use (4096 GSIs: 4 summary words).
 */
import { VirtError, exhaustedError, invalidArgument } from '../errors';

/**
 * Hands out the numbers `first .. first + capacity - 1`, lowest free first, and takes them back
 * exactly once each. The Linux irqfd engine numbers its GSIs and routes with it, the relay its slots.
 */
export class SlotAllocator {
  /** The lowest number this allocator hands out. */
  readonly first: number;
  /** How many numbers it manages (the highest is `first + capacity - 1`). */
  readonly capacity: number;
  private readonly free: Uint32Array; // bit set = number is free
  private readonly summary: Uint32Array; // bit set = that word of `free` has a free bit
  private allocated = 0;

  /**
   * Numbers `first .. first + capacity - 1`, all free. INVALID_ARGUMENT unless `first` is a
   * non-negative integer, `capacity` a positive one, and `first + capacity` at most 0x7FFFFFFF.
   */
  constructor(first: number, capacity: number) {
    if (!Number.isInteger(first) || first < 0 || !Number.isInteger(capacity) || capacity < 1 || first + capacity > 0x7fffffff) {
      throw invalidArgument('SlotAllocator', `bad range: first ${first}, capacity ${capacity}`);
    }
    this.first = first;
    this.capacity = capacity;
    const words = Math.ceil(capacity / 32);
    this.free = new Uint32Array(words);
    this.summary = new Uint32Array(Math.ceil(words / 32));
    for (let i = 0; i < capacity; i++) this.setFree(i);
  }

  /** How many numbers are allocated now. */
  get size(): number {
    return this.allocated;
  }

  /** The lowest free number, or undefined when all are in use. */
  tryAllocate(): number | undefined {
    for (let s = 0; s < this.summary.length; s++) {
      const sw = this.summary[s]!;
      if (sw === 0) continue;
      const w = s * 32 + ctz(sw);
      const fw = this.free[w]!;
      const index = w * 32 + ctz(fw);
      this.clearFree(index);
      this.allocated++;
      return this.first + index;
    }
    return undefined;
  }

  /**
   * The lowest free number; EXHAUSTED when none is left, the error naming `operation` and `what`
   * (e.g. `irqfd routes`).
   */
  allocate(operation: string, what = 'slots'): number {
    const n = this.tryAllocate();
    if (n === undefined) throw exhaustedError(operation, what, this.capacity);
    return n;
  }

  /** Whether `n` is allocated now (false for anything that is not one of this allocator's numbers). */
  isAllocated(n: number): boolean {
    if (typeof n !== 'number') return false;
    const i = n - this.first;
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) return false;
    return ((this.free[i >>> 5]! >>> (i & 31)) & 1) === 0;
  }

  /** Frees `n`; INTERNAL error if it is out of range or not allocated (a double free is a bug). */
  release(n: number): void {
    if (!this.isAllocated(n)) {
      throw new VirtError('INTERNAL', {
        operation: 'SlotAllocator.release',
        detail: `${n} is not an allocated number in ${this.first}..${this.first + this.capacity - 1} (double free?)`,
        hint: 'This is a bug in the caller: each number must be released exactly once.',
      });
    }
    this.setFree(n - this.first);
    this.allocated--;
  }

  private setFree(i: number): void {
    const w = i >>> 5;
    this.free[w] = (this.free[w]! | (1 << (i & 31))) >>> 0;
    this.summary[w >>> 5] = (this.summary[w >>> 5]! | (1 << (w & 31))) >>> 0;
  }

  private clearFree(i: number): void {
    const w = i >>> 5;
    const v = (this.free[w]! & ~(1 << (i & 31))) >>> 0;
    this.free[w] = v;
    if (v === 0) this.summary[w >>> 5] = (this.summary[w >>> 5]! & ~(1 << (w & 31))) >>> 0;
  }
}

function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
