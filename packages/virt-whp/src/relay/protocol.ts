/** What the relay's main-thread side and its waiter thread share. */
import type { MsiStructField, SlotLayout } from '@tsvmm/virt/implement';
import type { WhpLibraryPaths } from '../calls';

/**
 * Int32 word indexes of the control buffer, one record handed to the waiter as it is (as the route
 * table's `SLOT_LAYOUT`), so both threads read the same indexes: `gen` is bumped by the main thread
 * on every change of the watched set, `ackGen` is the generation the waiter last read (it no longer
 * uses older handles), `settleReq`/`settleAck` count settle requests and answers, `stop` asks the
 * waiter to end and `exited` says it has.
 */
export const CONTROL_WORD = Object.freeze({ gen: 0, ackGen: 1, settleReq: 2, settleAck: 3, stop: 4, exited: 5 });
/** Int32 words the control buffer holds (room past {@link CONTROL_WORD}'s last index). */
export const CONTROL_WORDS = 8;

/** Handles of one wait: the control event plus at most 63 route events (MAXIMUM_WAIT_OBJECTS 64). */
export const ROUTES_PER_WAIT = 63;

/** Everything the waiter uses arrives here: it runs from source text, with no module of its own. */
export interface WaiterData {
  readonly library: WhpLibraryPaths;
  readonly partition: bigint;
  readonly slots: number;
  /** The RelayRouteTable's buffer. */
  readonly table: SharedArrayBuffer;
  /** The route table's slot layout. */
  readonly layout: SlotLayout;
  /** BigInt64 per slot: the watched event's HANDLE, or 0. */
  readonly handles: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** Word indexes of `control` ({@link CONTROL_WORD}). */
  readonly ctl: typeof CONTROL_WORD;
  /** The auto-reset event that wakes the waiter. */
  readonly controlEvent: bigint;
  /** How long one wait lasts when the routes need more than one wait (ms). */
  readonly pollMs: number;
  readonly routesPerWait: number;
  /** Resolved path of koffi (a thread started from source text cannot resolve packages itself). */
  readonly koffiPath: string;
  /** The kernel32 and WHP prototypes the waiter binds (`WAITER_PROTOTYPES`). */
  readonly prototypes: { readonly waitForSingleObject: string; readonly waitForMultipleObjects: string; readonly resetEvent: string; readonly requestInterrupt: string };
  readonly waitObject0: number;
  readonly waitTimeout: number;
  /** WHV_INTERRUPT_CONTROL: its size and what each field takes from the MSI (`INTERRUPT_CONTROL_FIELDS`). */
  readonly controlSize: number;
  readonly controlFields: readonly MsiStructField[];
}
