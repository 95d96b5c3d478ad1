import { describeError } from '../validate';

/** What {@link readMembersOnce} read: each member's value, and the members whose read threw. */
export interface MembersRead<K extends string> {
  /** Each member's value as read once; `undefined` where the read threw. */
  readonly values: Readonly<Record<K, unknown>>;
  /** The members whose read threw, in read order, each with what it threw. */
  readonly threw: ReadonlyMap<K, unknown>;
}

/**
 * Reads each of `members` of `value` once, each read guarded: what a relay is handed by a caller's
 * factory or platform can be a Proxy or carry getters, and any of them can throw. Never throws.
 */
export function readMembersOnce<K extends string>(value: object, members: readonly K[]): MembersRead<K> {
  const values = {} as Record<K, unknown>;
  const threw = new Map<K, unknown>();
  for (const member of members) {
    try {
      values[member] = (value as Record<string, unknown>)[member];
    } catch (e) {
      values[member] = undefined;
      threw.set(member, e);
    }
  }
  return { values, threw };
}

/** The members among `methods` that `read` did not find callable (a read that threw counts), in `methods` order. */
export function notCallable<K extends string>(read: MembersRead<K>, methods: readonly K[]): K[] {
  return methods.filter((m) => typeof read.values[m] !== 'function');
}

/**
 * Disposes a value the relay refuses, through the `dispose` read from it (when callable): it may
 * hold a thread or descriptors its maker can no longer reach. Never throws; returns a note naming
 * what `dispose` threw, for the refusal's detail, or `''`.
 */
export function disposeRefused(value: object, dispose: unknown): string {
  if (typeof dispose !== 'function') return '';
  try {
    (dispose as () => unknown).call(value);
    return '';
  } catch (e) {
    return `; disposing it threw too (${describeError(e)})`;
  }
}

/** `d.dispose()`, dropping what it throws: for disposal paths documented never to throw. */
export function disposeQuietly(d: { dispose(): void }): void {
  try {
    d.dispose();
  } catch {
    // disposal never throws; the rest is still released
  }
}
