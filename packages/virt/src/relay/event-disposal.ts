/**
 * Events that tell their owner before they are disposed. A route owns its event, but a VMM can
 * still dispose the event itself (`route.event.dispose()`); an event that supports it (the Linux
 * `EventFd`) calls its owner's hook first, while its descriptor is still its own, so the owner can
 * stop watching it and undo kernel bindings made through that number. Afterwards the number may
 * belong to another file, and nothing may name it.
 */
import type { Event } from '../contract/event';

/** An event that calls a hook at the start of `dispose()` (once, before anything is closed). */
export interface DisposeHookEvent {
  /**
   * Sets the hook (undefined removes it). Returning true keeps the event's own descriptor open:
   * the hook's owner took it over and closes it.
   */
  setDisposeHook(hook: (() => boolean) | undefined): void;
}

/**
 * Registers `hook` to run at the start of `event.dispose()` when the event supports it (see
 * {@link DisposeHookEvent}); returns whether it does. Events without it (WHP's handles, whose
 * platform closes them only after its waiter let go; in-process events) need nothing.
 */
export function onEventDisposing(event: Event, hook: () => boolean): boolean {
  const e = event as Partial<DisposeHookEvent>;
  if (typeof e.setDisposeHook !== 'function') return false;
  e.setDisposeHook(hook);
  return true;
}
