import type { Event } from '../contract/event';
import type { Disposable } from '../disposable';
import { VirtError, isVirtError } from '../errors';
import { describeError, describeValue } from '../validate';
import { disposeQuietly, disposeRefused, notCallable, readMembersOnce } from './checked-members';
import type { RelayRouteTable } from './route-table';

/**
 * The platform half of the user-space relay: it owns the events and waits on them. Linux waits on
 * eventfds with epoll in one worker thread for all routes; the in-process platform delivers
 * inside `signal()`. When an event becomes ready the platform calls
 * `table.deliver(slot, consume, inject)`, on whatever thread it waits on.
 */
export interface RelayPlatform extends Disposable {
  /** For capabilities and `tsvmm probe`, e.g. `epoll worker thread`. */
  readonly name: string;
  /** A new event for one route (owned by the route). */
  createEvent(): Event;
  /** Start delivering signals of `event` for `slot`: the route just became armed. */
  watch(slot: number, event: Event): void;
  /** Stop: the route is no longer armed. After it returns, no delivery for `slot` starts. */
  unwatch(slot: number, event: Event): void;
  /** Resolves once every signal raised before the call has been handled. */
  settle(): Promise<void>;
  /** Stops waiting and releases the waiter (thread, descriptors). Idempotent; never throws. */
  dispose(): void;
  /**
   * After {@link dispose}: resolves once the waiter's thread (if the platform has one) has exited
   * and its resources are released; at once for a platform without a thread. Never rejects.
   */
  whenClosed(): Promise<void>;
}

/**
 * How {@link RelayIrqFd} gets its platform: called once, from its constructor, with the route
 * table the platform delivers through. A `VirtError` it throws propagates; any other error becomes
 * INTERNAL. The platform it returns belongs to the irqfd (or the engine's overflow relay) from then
 * on, which disposes it last: do not dispose it yourself (its waiter would stop under live routes,
 * and its later calls, a new route's event or an unmask, are DISPOSED).
 */
export type RelayPlatformFactory = (table: RelayRouteTable) => RelayPlatform;

/**
 * A platform {@link createRelayPlatform} accepted, with its `name` as read (once) while it was
 * checked: the name a relay shows, whatever a getter on the platform would answer later.
 */
export interface AcceptedRelayPlatform {
  /** The platform, owned from now on by the relay that asked for it. */
  readonly platform: RelayPlatform;
  /** `platform.name` as read once while the platform was checked (a string). */
  readonly name: string;
}

/** The methods a {@link RelayPlatform} has; a factory's result lacking one is refused. */
const PLATFORM_METHODS = ['createEvent', 'watch', 'unwatch', 'settle', 'dispose', 'whenClosed'] as const;

/**
 * Calls `factory(table)` for `operation` (the relay-mode irqfd's creation, or the first route an
 * engine's overflow relay takes) and checks what it returns. A VirtError the factory throws
 * propagates as it is (the epoll and Win32 platforms throw SYSCALL, EXHAUSTED and the like);
 * anything else it throws is INTERNAL, naming the factory, with the error as `cause`.
 *
 * Returns the platform with its `name`, read once (see {@link AcceptedRelayPlatform}).
 *
 * A result that is not a RelayPlatform (an object with every method of one and a string `name`) is INVALID_ARGUMENT:
 * the factory, often a caller's own (`relayPlatform` of the Linux backends), must return one. That
 * includes an object (or Proxy) whose property getter throws while its methods and `name` are read:
 * the caller's factory returned something unusable, so it is the caller's argument that is wrong;
 * the getter's error is the `cause`. A refused result with a callable `dispose` is disposed before
 * the error is thrown (it may hold a thread or descriptors the caller can no longer reach); if that
 * `dispose` throws, its error is named in the INVALID_ARGUMENT's detail and otherwise dropped: the
 * refusal is what the caller must fix, and `dispose` is documented never to throw.
 */
export function createRelayPlatform(operation: string, factory: RelayPlatformFactory, table: RelayRouteTable): AcceptedRelayPlatform {
  let platform: unknown;
  try {
    platform = factory(table);
  } catch (e) {
    if (isVirtError(e)) throw e;
    throw new VirtError('INTERNAL', {
      operation,
      detail: `the relay platform factory threw (${describeError(e)})`,
      hint: 'A factory passed as relayPlatform must return a RelayPlatform or throw a VirtError; fix it. With the default platform, report this.',
      cause: e,
    });
  }
  if (typeof platform !== 'object' || platform === null) {
    throw refused(operation, `the relay platform factory returned ${describeValue(platform)}, not a RelayPlatform (missing ${PLATFORM_METHODS.join(', ')})`);
  }
  const read = readMembersOnce(platform, [...PLATFORM_METHODS, 'name'] as const);
  const missing: string[] = notCallable(read, PLATFORM_METHODS);
  const name = read.values.name;
  const badName = !read.threw.has('name') && typeof name !== 'string';
  const [getterError] = [...read.threw].map(([member, error]) => ({ member, error }));
  if (missing.length === 0 && getterError === undefined && !badName) return Object.freeze({ platform: platform as RelayPlatform, name: name as string });
  const disposeNote = disposeRefused(platform, read.values.dispose);
  const wrong = [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...(badName ? [`its name is ${describeValue(name)}, not a string`] : [])].join('; ');
  const what =
    getterError === undefined
      ? `${describeReturned(platform)}, not a RelayPlatform (${wrong})`
      : `an object whose ${getterError.member} could not be read (its getter threw ${describeError(getterError.error)})${wrong.length > 0 ? `, not a RelayPlatform (${wrong})` : ''}`;
  throw refused(operation, `the relay platform factory returned ${what}${disposeNote}`, getterError?.error);
}

/**
 * What a factory returned, for the refusal: a plain object by its own keys (its JSON would hide its
 * methods: `{ dispose() {} }` shows as `{}`), anything else as {@link describeValue}. Never throws.
 */
function describeReturned(value: object): string {
  try {
    if (Object.getPrototypeOf(value) === Object.prototype) {
      const keys = Object.keys(value);
      if (keys.length === 0) return 'an empty object';
      const shown = keys.slice(0, 8).join(', ');
      return `an object with the keys ${shown}${keys.length > 8 ? ', …' : ''}`;
    }
  } catch {
    // a Proxy whose getPrototypeOf or ownKeys trap throws
  }
  return describeValue(value);
}

function refused(operation: string, detail: string, cause?: unknown): VirtError {
  return new VirtError('INVALID_ARGUMENT', {
    operation,
    detail,
    hint: 'A relay platform factory (relayPlatform) is a function of the route table returning a RelayPlatform, e.g. modelRelayPlatform(model) of a backend’s testing subpath.',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The platform methods a relay calls while routes change; each goes through {@link callRelayPlatform}. */
export type RelayPlatformCall = 'createEvent' | 'watch' | 'unwatch';

/**
 * `platform[method](...args)` for `operation` (e.g. `IrqFdRoute.unmask`): a VirtError it throws
 * propagates as it is; anything else is INTERNAL naming the platform's method, with the error as
 * `cause`. The platform is often the caller's own (`relayPlatform`), so a plain Error from it must
 * not reach the VMM untyped. The caller restores its state as for any failed platform call.
 */
export function callRelayPlatform<M extends RelayPlatformCall>(operation: string, platform: RelayPlatform, method: M, ...args: Parameters<RelayPlatform[M]>): ReturnType<RelayPlatform[M]> {
  try {
    return (platform[method] as (...a: unknown[]) => ReturnType<RelayPlatform[M]>).apply(platform, args);
  } catch (e) {
    throw platformMethodError(operation, method, e);
  }
}

/**
 * `platform.settle()` for `operation`: a VirtError it throws or rejects with is passed on as it is;
 * anything else (thrown or a rejection) becomes a rejection with INTERNAL naming `settle`, the
 * error as `cause`. Never throws synchronously.
 */
export function settleRelayPlatform(operation: string, platform: RelayPlatform): Promise<void> {
  let settled: Promise<void>;
  try {
    settled = Promise.resolve(platform.settle());
  } catch (e) {
    return Promise.reject(platformMethodError(operation, 'settle', e));
  }
  return settled.then(undefined, (e: unknown) => {
    throw platformMethodError(operation, 'settle', e);
  });
}

function platformMethodError(operation: string, method: string, e: unknown): VirtError {
  if (isVirtError(e)) return e;
  return new VirtError('INTERNAL', {
    operation,
    detail: `the relay platform's ${method} threw (${describeError(e)})`,
    hint: 'A RelayPlatform (relayPlatform) throws only VirtErrors; fix the platform. With the default platform, report this.',
    cause: e,
  });
}

/**
 * `platform.dispose()`, guarded: a platform's `dispose` is documented never to throw, and a relay's
 * own `dispose` promises the same, so whatever a broken platform throws is dropped here. The one
 * way every relay disposes its platform.
 */
export function disposeRelayPlatform(platform: RelayPlatform): void {
  disposeQuietly(platform);
}

/**
 * `platform.whenClosed()`, guarded: resolves when the platform's promise settles, either way, and at
 * once when `whenClosed` throws or returns something other than a promise. Never rejects (a relay's
 * `whenClosed` promises that; nothing is left for the caller to do about a waiter that failed to close).
 */
export function whenRelayPlatformClosed(platform: RelayPlatform): Promise<void> {
  let closed: unknown;
  try {
    closed = platform.whenClosed();
  } catch {
    return Promise.resolve();
  }
  // Promise.resolve reads `then` of a thenable inside the promise machinery: a throwing getter rejects, caught below.
  return Promise.resolve(closed).then(
    () => undefined,
    () => undefined,
  );
}
