import { checkObject } from '../validate';

/** How {@link OptionReads.watch} answers. */
export interface WatchedOptions<T> {
  /** Per key, what every read after the first answers: a value validation never saw, which a function that reads twice would then use. */
  readonly later?: { readonly [K in keyof T]?: unknown };
  /** Put before each key in {@link OptionReads.counts}: `library.` for a nested object's reads. Default none. */
  readonly prefix?: string;
}

/**
 * Counts the reads of an options object's properties, for the test that a function reads each
 * option once: an option read twice could pass validation with one answer and be used with another
 * (a getter, a Proxy), so every `create` reads each of its options exactly once. One counter may
 * watch several objects (an options object and one nested in it), each under its own prefix.
 */
export class OptionReads {
  /** Reads so far by key, `prefix + key` (a symbol as `String(symbol)`): present keys and absent ones alike. */
  readonly counts: Record<string, number> = {};

  /**
   * `values` behind a Proxy that counts every property read in {@link counts}; the first read of
   * a key answers its value in `values`, every later read `options.later[key]` where that is given.
   * @throws VirtError INVALID_ARGUMENT when `values` is not an object (before anything is counted).
   */
  watch<T extends object>(values: T, options: WatchedOptions<T> = {}): T {
    checkObject('OptionReads.watch', 'values', values);
    const later: Record<PropertyKey, unknown> = options.later ?? {};
    const prefix = options.prefix ?? '';
    return new Proxy(values, {
      get: (target, key, receiver): unknown => {
        const name = prefix + String(key);
        const n = (this.counts[name] = (this.counts[name] ?? 0) + 1);
        return n > 1 && Object.hasOwn(later, key) ? later[key] : Reflect.get(target, key, receiver);
      },
    });
  }
}
