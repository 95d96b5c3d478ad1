/** The snapshot format of {@link MsiEmulator.save} / `restore`, and its checks. */
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { pendingFault, readSnapshot } from './state';
import type { MsiLayout } from './msi-layout';

/** Plain JSON-able MSI state: what a VMM stores in a snapshot. */
export interface MsiState {
  /** Format version; `restore` accepts only 1. */
  readonly version: 1;
  /** Vectors requested (2^Multiple Message Capable) of the emulator it was saved from; `restore` requires the same. */
  readonly vectors: number;
  /** 64-bit Address Capable of the emulator it was saved from; `restore` requires the same. */
  readonly address64: boolean;
  /** Per-Vector Masking Capable of the emulator it was saved from; `restore` requires the same. */
  readonly perVectorMasking: boolean;
  /** Message Control bit 0, MSI Enable. */
  readonly enable: boolean;
  /** Message Control bits 6:4, Multiple Message Enable: log2 of the vectors granted, 0 to log2(`vectors`). */
  readonly multipleMessageEnable: number;
  /** Message Address, bits 1:0 zero. */
  readonly addressLo: number;
  /** Message Upper Address (0 in a 32-bit layout). */
  readonly addressHi: number;
  /** Message Data, 16 bits. */
  readonly data: number;
  /** Mask Bits (bit v = vector v masked); 0 without per-vector masking. */
  readonly mask: number;
  /** Vectors with an interrupt pending, ascending and distinct; each below 2^`multipleMessageEnable`. */
  readonly pending: readonly number[];
}

const MSI_STATE_FIELDS: readonly (keyof MsiState)[] = ['version', 'vectors', 'address64', 'perVectorMasking', 'enable', 'multipleMessageEnable', 'addressLo', 'addressHi', 'data', 'mask', 'pending'];

const u32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/**
 * `state` copied once (each field read once, own data properties only) and checked: the copy, to
 * apply instead of `state`. Throws INVALID_ARGUMENT unless it is a version-1 snapshot of an
 * emulator with this layout.
 */
export function readMsiState(operation: string, state: unknown, layout: MsiLayout): MsiState {
  const fail = (detail: string) => invalidArgument(operation, detail, 'Pass a value returned by save() of an emulator with the same layout; nothing was changed.');
  const read = readSnapshot(state, MSI_STATE_FIELDS);
  if ('fault' in read) throw fail(read.fault);
  const s = read.copy as Partial<Record<keyof MsiState, unknown>>;
  if (s.vectors !== layout.vectors || s.address64 !== layout.address64 || s.perVectorMasking !== layout.perVectorMasking) {
    throw fail(
      `the snapshot's layout (state.vectors ${describeValue(s.vectors)}, state.address64 ${describeValue(s.address64)}, state.perVectorMasking ${describeValue(s.perVectorMasking)}) ` +
        `differs from this emulator's (${layout.vectors}, ${layout.address64}, ${layout.perVectorMasking})`,
    );
  }
  if (typeof s.enable !== 'boolean') throw fail(`state.enable must be a boolean, got ${describeValue(s.enable)}`);
  const mme = s.multipleMessageEnable;
  if (typeof mme !== 'number' || !Number.isInteger(mme) || mme < 0 || mme > layout.multipleMessageCapable) {
    throw fail(`state.multipleMessageEnable must be an integer from 0 to ${layout.multipleMessageCapable}, got ${describeValue(mme)}`);
  }
  if (!u32(s.addressLo) || (s.addressLo & 3) !== 0) throw fail(`state.addressLo must be an integer from 0 to 0xFFFFFFFC with bits 1:0 clear, got ${describeValue(s.addressLo)}`);
  if (!u32(s.addressHi) || (!layout.address64 && s.addressHi !== 0)) throw fail(`state.addressHi must be ${layout.address64 ? 'an integer from 0 to 0xFFFFFFFF' : '0 (32-bit layout)'}, got ${describeValue(s.addressHi)}`);
  if (!u32(s.data) || s.data > 0xffff) throw fail(`state.data must be an integer from 0 to 0xFFFF, got ${describeValue(s.data)}`);
  const implemented = layout.perVectorMasking ? (layout.vectors === 32 ? 0xffffffff : (1 << layout.vectors) - 1) : 0;
  if (!u32(s.mask) || (s.mask & ~implemented) !== 0) throw fail(`state.mask must be an integer within 0x${implemented.toString(16)}, got ${describeValue(s.mask)}`);
  const fault = pendingFault(s.pending, 1 << mme, 'vectors granted (2^multipleMessageEnable)');
  if (fault) throw fail(fault);
  return {
    version: 1,
    vectors: layout.vectors,
    address64: layout.address64,
    perVectorMasking: layout.perVectorMasking,
    enable: s.enable,
    multipleMessageEnable: mme,
    addressLo: s.addressLo,
    addressHi: s.addressHi,
    data: s.data,
    mask: s.mask,
    pending: s.pending as number[],
  };
}
