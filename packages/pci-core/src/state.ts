/** The snapshot format of {@link MsixEmulator.save} / `restore`, and its checks. */
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { copyOwnData } from './own-data';

/** Plain JSON-able MSI-X state: what a VMM stores in a snapshot. */
export interface MsixState {
  /** Format version; `restore` accepts only 1. */
  readonly version: 1;
  /** Vector count of the emulator it was saved from; `restore` requires the same. */
  readonly vectors: number;
  /** Message Control bit 15, MSI-X Enable. */
  readonly enable: boolean;
  /** Message Control bit 14, Function Mask. */
  readonly functionMask: boolean;
  /** 4 words per vector: address low, address high, data, vector control. */
  readonly table: readonly number[];
  /** Vectors whose pending bit is set, ascending and distinct (restore rejects any other order). */
  readonly pending: readonly number[];
}

/**
 * `pending`: an array of vector numbers below `limit`, ascending and distinct (as save() writes
 * it). Returns the detail of the first fault, naming the element (`state.pending[3]`), or undefined.
 */
export function pendingFault(pending: unknown, limit: number, what: string): string | undefined {
  if (!Array.isArray(pending)) return `state.pending must be an array of vector numbers, got ${describeValue(pending)}`;
  for (let i = 0; i < pending.length; i++) {
    const v: unknown = pending[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= limit) return `state.pending[${i}] is ${describeValue(v)}, not one of the ${limit} ${what}`;
    if (i > 0 && v <= (pending[i - 1] as number)) return `state.pending must be ascending and distinct: state.pending[${i}] is ${v} after ${String(pending[i - 1])}`;
  }
  return undefined;
}

/**
 * What both emulators' snapshots share: an object of own data properties (copied once, see
 * ./own-data) with no field outside `fields` (a field this version does not read would otherwise
 * be dropped without a word), of format version 1. Returns the copy, or the detail of the first fault.
 */
export function readSnapshot(state: unknown, fields: readonly string[]): { readonly copy: Record<string, unknown> } | { readonly fault: string } {
  const read = copyOwnData(state, fields);
  if ('fault' in read) return read;
  const version = read.copy['version'];
  if (version !== 1) return { fault: `state.version is ${describeValue(version)}; this emulator reads version 1` };
  return read;
}

const MSIX_STATE_FIELDS: readonly (keyof MsixState)[] = ['version', 'vectors', 'enable', 'functionMask', 'table', 'pending'];

/**
 * `state` copied once (each field read once, own data properties only) and checked: the copy, to
 * apply instead of `state`. Throws INVALID_ARGUMENT unless it is a version-1 snapshot of an
 * emulator with `vectors` vectors.
 */
export function readState(operation: string, state: unknown, vectors: number): MsixState {
  const fail = (detail: string) => invalidArgument(operation, detail, 'Pass a value returned by save() of an emulator with the same vector count; nothing was changed.');
  const read = readSnapshot(state, MSIX_STATE_FIELDS);
  if ('fault' in read) throw fail(read.fault);
  const s = read.copy as Partial<Record<keyof MsixState, unknown>>;
  if (s.vectors !== vectors) throw fail(`state.vectors is ${describeValue(s.vectors)}, this emulator has ${vectors} vectors`);
  if (typeof s.enable !== 'boolean') throw fail(`state.enable must be a boolean, got ${describeValue(s.enable)}`);
  if (typeof s.functionMask !== 'boolean') throw fail(`state.functionMask must be a boolean, got ${describeValue(s.functionMask)}`);
  const table = s.table;
  if (!Array.isArray(table) || table.length !== vectors * 4) throw fail(`state.table must be an array of ${vectors * 4} numbers (4 per vector), got ${describeValue(table)}`);
  for (let i = 0; i < table.length; i++) {
    const x: unknown = table[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw fail(`state.table[${i}] is ${describeValue(x)}, not an integer from 0 to 0xFFFFFFFF`);
  }
  const fault = pendingFault(s.pending, vectors, 'vectors');
  if (fault) throw fail(fault);
  return { version: 1, vectors, enable: s.enable, functionMask: s.functionMask, table: table as number[], pending: s.pending as number[] };
}
