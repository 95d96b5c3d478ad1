/**
 * Injectors for testing relays without a hypervisor (on the main thread; the worker gets
 * `recordingInjectorSpec`, the same recording as data).
 */
import type { RawInjector } from '@tsvmm/virt/implement';

/** Word index of a recording injector's shared Int32Array that counts injections. */
export const REC_COUNT = 0;
/** Word index of the last injected message's address, bits 31:0. */
export const REC_ADDRESS_LO = 1;
/** Word index of the last injected message's address, bits 63:32. */
export const REC_ADDRESS_HI = 2;
/** Word index of the last injected message's data. */
export const REC_DATA = 3;
/** Words of the shared array (its buffer needs `REC_WORDS * 4` = 16 bytes). */
export const REC_WORDS = 4;

/** Counts injections and keeps the last message in `shared` (an Int32Array of REC_WORDS). */
export function recordingInjector(shared: SharedArrayBuffer): RawInjector {
  const v = new Int32Array(shared);
  return (lo, hi, data) => {
    v[REC_ADDRESS_LO] = lo | 0;
    v[REC_ADDRESS_HI] = hi | 0;
    v[REC_DATA] = data | 0;
    Atomics.add(v, REC_COUNT, 1);
    return true;
  };
}
