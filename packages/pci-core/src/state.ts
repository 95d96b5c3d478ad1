/** The snapshot format of {@link MsixEmulator.save} / `restore`, and its checks. */
import { invalidArgument } from '@tsvmm/virt/implement';

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
  /** Vectors whose pending bit is set, ascending. */
  readonly pending: readonly number[];
}

/** Throws INVALID_ARGUMENT unless `state` is a version-1 snapshot of an emulator with `vectors` vectors. */
export function checkState(operation: string, state: unknown, vectors: number): asserts state is MsixState {
  const fail = (detail: string) => invalidArgument(operation, detail, 'Pass a value returned by save() of an emulator with the same vector count; nothing was changed.');
  if (typeof state !== 'object' || state === null) throw fail('the snapshot must be an object');
  const s = state as Partial<Record<keyof MsixState, unknown>>;
  if (s.version !== 1) throw fail(`unknown snapshot version ${String(s.version)}`);
  if (s.vectors !== vectors) throw fail(`the snapshot has ${String(s.vectors)} vectors, this emulator ${vectors}`);
  if (typeof s.enable !== 'boolean' || typeof s.functionMask !== 'boolean') throw fail('enable and functionMask must be booleans');
  const table = s.table;
  if (!Array.isArray(table) || table.length !== vectors * 4) throw fail(`table must be an array of ${vectors * 4} numbers`);
  for (const x of table) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw fail('every table word must be an integer from 0 to 0xFFFFFFFF');
  }
  const pending = s.pending;
  if (!Array.isArray(pending)) throw fail('pending must be an array of vector numbers');
  for (const v of pending) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vectors) throw fail(`pending vector ${String(v)} does not exist`);
  }
}
