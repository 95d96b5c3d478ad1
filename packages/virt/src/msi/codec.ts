/**
 * The x86 MSI message format (Intel SDM, "Message Signalled Interrupts"): decode, encode,
 * validate and describe. Every backend validates through {@link validateMsi} so that the same bad
 * message gets the same error everywhere.
 */
import { VirtError, invalidArgument } from '../errors';
import { checkBoolean, checkObject, describeValue, hex } from '../validate';

/** An MSI as the hardware sees it: the 64-bit address split into 32-bit halves, and the data word. */
export interface MsiMessage {
  /** Address bits 31:0, unsigned 32-bit: 0xFEExxxxx for an interrupt message. */
  readonly addressLo: number;
  /** Address bits 63:32, unsigned 32-bit: 0 except for 32-bit x2APIC destination IDs. */
  readonly addressHi: number;
  /** The message data, unsigned 32-bit: vector, delivery mode and trigger mode. */
  readonly data: number;
}

/**
 * The delivery mode of an MSI (data bits 10:8, Intel SDM "Message Signalled Interrupts"): `fixed`
 * (000), `lowest-priority` (001), `smi` (010), `nmi` (100), `init` (101), `extint` (111).
 */
export type DeliveryMode = 'fixed' | 'lowest-priority' | 'smi' | 'nmi' | 'init' | 'extint';

/** Delivery-mode codes of data bits 10:8; 3 and 6 are reserved for MSI. */
export const DELIVERY_MODE_CODES: Readonly<Record<DeliveryMode, number>> = Object.freeze({
  fixed: 0,
  'lowest-priority': 1,
  smi: 2,
  nmi: 4,
  init: 5,
  extint: 7,
});

const DELIVERY_MODE_BY_CODE: readonly (DeliveryMode | undefined)[] = ['fixed', 'lowest-priority', 'smi', undefined, 'nmi', 'init', undefined, 'extint'];

/** The fields of an MSI, decoded. */
export interface MsiFields {
  /** Destination ID: address bits 19:12, plus `addressHi` bits 31:8 as bits 31:8 (32-bit x2APIC IDs). */
  readonly destinationId: number;
  /** Address bits 11:5: the paravirtual extended destination ID, or reserved. */
  readonly extendedDestinationId: number;
  /** Address bit 2 (DM): 0 `physical`, 1 `logical`. */
  readonly destinationMode: 'physical' | 'logical';
  /** Address bit 3 (RH), the redirection hint. */
  readonly redirectionHint: boolean;
  /** Address bit 4: remappable format (interrupt remapping), which no tsvmm backend accepts. */
  readonly remappable: boolean;
  /** Data bits 7:0: the interrupt vector, 0 to 255 (0-15 are reserved for exceptions). */
  readonly vector: number;
  /** Raw delivery-mode code (data bits 10:8). */
  readonly deliveryModeCode: number;
  /** The delivery mode, or undefined for the reserved codes 3 and 6. */
  readonly deliveryMode: DeliveryMode | undefined;
  /** Data bit 15: 0 `edge`, 1 `level`. */
  readonly triggerMode: 'edge' | 'level';
  /** Data bit 14 (assert), meaningful only for level-triggered messages. */
  readonly levelAssert: boolean;
}

/** One of the three 32-bit words of an {@link MsiMessage}. */
export type MsiWord = 'addressLo' | 'addressHi' | 'data';

/** Where a field sits in an MSI: `width` bits from bit `shift` of `word`. */
export interface MsiBitRange {
  /** The word that holds the field. */
  readonly word: MsiWord;
  /** Its lowest bit, 0-based. */
  readonly shift: number;
  /** Its number of bits. */
  readonly width: number;
}

/** The MSI fields {@link MSI_BITS} locates. */
export type MsiFieldName =
  | 'destinationMode'
  | 'redirectionHint'
  | 'remappable'
  | 'extendedDestinationId'
  | 'destinationId'
  | 'vector'
  | 'deliveryMode'
  | 'levelAssert'
  | 'triggerMode';

/**
 * The compatibility-format fields of an MSI (Intel SDM, "Message Signalled Interrupts"): the one
 * definition that {@link decodeMsi} reads and that data injectors name (`destinationId` here is the
 * 8-bit xAPIC ID; 32-bit x2APIC IDs add `addressHi` bits 31:8).
 */
export const MSI_BITS: Readonly<Record<MsiFieldName, MsiBitRange>> = Object.freeze({
  destinationMode: Object.freeze({ word: 'addressLo', shift: 2, width: 1 }),
  redirectionHint: Object.freeze({ word: 'addressLo', shift: 3, width: 1 }),
  remappable: Object.freeze({ word: 'addressLo', shift: 4, width: 1 }),
  extendedDestinationId: Object.freeze({ word: 'addressLo', shift: 5, width: 7 }),
  destinationId: Object.freeze({ word: 'addressLo', shift: 12, width: 8 }),
  vector: Object.freeze({ word: 'data', shift: 0, width: 8 }),
  deliveryMode: Object.freeze({ word: 'data', shift: 8, width: 3 }),
  levelAssert: Object.freeze({ word: 'data', shift: 14, width: 1 }),
  triggerMode: Object.freeze({ word: 'data', shift: 15, width: 1 }),
});

/** The value of `range` in the message words `lo`, `hi`, `data`. */
function msiBits(range: MsiBitRange, lo: number, hi: number, data: number): number {
  const w = range.word === 'addressLo' ? lo : range.word === 'addressHi' ? hi : data;
  return (w >>> range.shift) & ((1 << range.width) - 1);
}

/** First address of the x86 interrupt window (address bits 31:20 = 0xFEE, Intel SDM "Message Signalled Interrupts"). */
export const MSI_WINDOW_BASE = 0xfee00000;
/** Last address of the x86 interrupt window: a message address must lie in `MSI_WINDOW_BASE` to this, inclusive. */
export const MSI_WINDOW_LAST = 0xfeefffff;
const TWO_32 = 0x1_0000_0000;
const DATA_RESERVED_MASK = 0xffff3800; // bits 31:16 and 13:11

/**
 * Turns a caller's `(address, data)` into a {@link MsiMessage}, rejecting wrong types and numbers
 * out of range (INVALID_ARGUMENT). `address` is the full 64-bit message address, as a number (an
 * integer below 2^53) or a bigint below 2^64.
 */
export function toMsiMessage(operation: string, address: unknown, data: unknown): MsiMessage {
  operation = typeof operation === 'string' ? operation : 'toMsiMessage';
  let lo: number;
  let hi: number;
  if (typeof address === 'number') {
    if (!Number.isSafeInteger(address) || address < 0) {
      throw invalidArgument(operation, `address must be a non-negative integer below 2^53 (or a bigint), got ${describeValue(address)}`);
    }
    lo = address % TWO_32;
    hi = Math.floor(address / TWO_32);
  } else if (typeof address === 'bigint') {
    if (address < 0n || address >= 1n << 64n) {
      throw invalidArgument(operation, `address must be a 64-bit unsigned value, got ${describeValue(address)}`);
    }
    lo = Number(address & 0xffffffffn);
    hi = Number(address >> 32n);
  } else {
    throw invalidArgument(operation, `address must be a number or a bigint, got ${describeValue(address)}`);
  }
  if (typeof data !== 'number' || !Number.isInteger(data) || data < 0 || data > 0xffffffff) {
    throw invalidArgument(operation, `data must be a 32-bit unsigned integer, got ${describeValue(data)}`);
  }
  return { addressLo: lo, addressHi: hi, data };
}

/** The message's three words, or undefined when `msg` is not an {@link MsiMessage} (each field read once). */
function words(msg: unknown): [number, number, number] | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  const lo = m.addressLo;
  const hi = m.addressHi;
  const data = m.data;
  return isWord(lo) && isWord(hi) && isWord(data) ? [lo >>> 0, hi >>> 0, data >>> 0] : undefined;
}

/** The three words of `msg`, or INVALID_ARGUMENT when it is not an {@link MsiMessage}. */
function checkedWords(operation: string, msg: unknown): [number, number, number] {
  const w = words(msg);
  if (!w) {
    throw invalidArgument(operation, `the message must be an object { addressLo, addressHi, data } of 32-bit integers, got ${describeValue(msg)}`);
  }
  return w;
}

/** The 64-bit address of a message. INVALID_ARGUMENT when `msg` is not an {@link MsiMessage}. */
export function msiAddress(msg: MsiMessage): bigint {
  const [lo, hi] = checkedWords('msiAddress', msg);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Decodes any message (reserved values are reported, not rejected). INVALID_ARGUMENT when `msg`
 * is not an object of three 32-bit integers.
 */
export function decodeMsi(msg: MsiMessage): MsiFields {
  const [lo, hi, data] = checkedWords('decodeMsi', msg);
  return decodeWords(lo, hi, data);
}

function decodeWords(lo: number, hi: number, data: number): MsiFields {
  const b = MSI_BITS;
  const code = msiBits(b.deliveryMode, lo, hi, data);
  return {
    destinationId: ((hi & 0xffffff00) | msiBits(b.destinationId, lo, hi, data)) >>> 0,
    extendedDestinationId: msiBits(b.extendedDestinationId, lo, hi, data),
    destinationMode: msiBits(b.destinationMode, lo, hi, data) ? 'logical' : 'physical',
    redirectionHint: msiBits(b.redirectionHint, lo, hi, data) !== 0,
    remappable: msiBits(b.remappable, lo, hi, data) !== 0,
    vector: msiBits(b.vector, lo, hi, data),
    deliveryModeCode: code,
    deliveryMode: DELIVERY_MODE_BY_CODE[code],
    triggerMode: msiBits(b.triggerMode, lo, hi, data) ? 'level' : 'edge',
    levelAssert: msiBits(b.levelAssert, lo, hi, data) !== 0,
  };
}

/** The fields {@link encodeMsi} takes; every optional one defaults to the value that encodes as 0. */
export interface MsiEncodeInput {
  /** Up to 0xFF, or up to 0xFFFFFFFF where 32-bit x2APIC IDs go into `addressHi`. */
  readonly destinationId: number;
  /** Data bits 7:0, 0 to 255. Not checked against the exception range here: {@link validateMsi} does that. */
  readonly vector: number;
  /** Address bit 2; default `physical`. */
  readonly destinationMode?: 'physical' | 'logical';
  /** Address bit 3; default false. */
  readonly redirectionHint?: boolean;
  /** Data bits 10:8; default `fixed`. */
  readonly deliveryMode?: DeliveryMode;
  /** Data bit 15; default `edge`. */
  readonly triggerMode?: 'edge' | 'level';
  /** Data bit 14; default false. */
  readonly levelAssert?: boolean;
}

/**
 * Encodes an MSI in compatibility format. Throws INVALID_ARGUMENT when `fields` is not an object
 * or a field is out of range or of the wrong type; each field is read once.
 */
export function encodeMsi(fields: MsiEncodeInput): MsiMessage {
  const op = 'encodeMsi';
  const input = checkObject<Partial<Record<keyof MsiEncodeInput, unknown>>>(op, 'fields', fields);
  const dest = input.destinationId;
  if (typeof dest !== 'number' || !Number.isInteger(dest) || dest < 0 || dest > 0xffffffff) {
    throw invalidArgument(op, `destinationId must be an integer from 0 to 0xFFFFFFFF, got ${describeValue(dest)}`);
  }
  const vector = input.vector;
  if (typeof vector !== 'number' || !Number.isInteger(vector) || vector < 0 || vector > 0xff) {
    throw invalidArgument(op, `vector must be an integer from 0 to 255, got ${describeValue(vector)}`);
  }
  const mode = input.deliveryMode ?? 'fixed';
  const code = typeof mode === 'string' && Object.hasOwn(DELIVERY_MODE_CODES, mode) ? DELIVERY_MODE_CODES[mode as DeliveryMode] : undefined;
  if (code === undefined) throw invalidArgument(op, `unknown delivery mode ${describeValue(mode)}`);
  const destinationMode = input.destinationMode ?? 'physical';
  if (destinationMode !== 'physical' && destinationMode !== 'logical') {
    throw invalidArgument(op, `destinationMode must be 'physical' or 'logical', got ${describeValue(destinationMode)}`);
  }
  const triggerMode = input.triggerMode ?? 'edge';
  if (triggerMode !== 'edge' && triggerMode !== 'level') throw invalidArgument(op, `triggerMode must be 'edge' or 'level', got ${describeValue(triggerMode)}`);
  const redirectionHint = checkBoolean(op, 'redirectionHint', input.redirectionHint, false);
  const levelAssert = checkBoolean(op, 'levelAssert', input.levelAssert, false);
  const b = MSI_BITS;
  const at = (range: MsiBitRange, value: number): number => (value & ((1 << range.width) - 1)) << range.shift;
  const addressLo = (MSI_WINDOW_BASE | at(b.destinationId, dest) | at(b.redirectionHint, redirectionHint ? 1 : 0) | at(b.destinationMode, destinationMode === 'logical' ? 1 : 0)) >>> 0;
  const addressHi = (dest & 0xffffff00) >>> 0;
  const data = (at(b.vector, vector) | at(b.deliveryMode, code) | at(b.levelAssert, levelAssert ? 1 : 0) | at(b.triggerMode, triggerMode === 'level' ? 1 : 0)) >>> 0;
  return { addressLo, addressHi, data };
}

/** What a backend accepts beyond the architectural rules. */
export interface MsiPolicy {
  /**
   * `'reject'`: `addressHi` must be 0 (mshv, and KVM without 32-bit x2APIC IDs).
   * `'x2apic-ids'`: `addressHi` bits 31:8 carry destination-ID bits 31:8; bits 7:0 must be 0.
   */
  readonly addressHi: 'reject' | 'x2apic-ids';
  /**
   * The paravirtual extended destination ID (APIC ID bits 14:8 in address bits 11:5, which Linux
   * guests use when the hypervisor advertises it; docs/interfaces/msi-x86.md). `'translate'` (only with
   * `addressHi: 'x2apic-ids'`): {@link parseMsi} moves those bits to `addressHi` bits 14:8 before
   * the hypervisor sees the message, as QEMU does for KVM (KVM itself never reads bits 11:5).
   * `'reject'` (default): a message with bits 11:5 set is INVALID_MSI.
   */
  readonly extendedDestinationId?: 'translate' | 'reject';
  /**
   * The largest APIC ID a physical destination may name on this partition (the all-ones
   * broadcast ID aside): a larger one is INVALID_MSI naming this limit. Default: no limit beyond
   * the message format (0xFE with `addressHi: 'reject'`, since 0xFF is the broadcast ID).
   */
  readonly maxApicId?: number;
  /** Delivery modes the backend can express (WHP has no SMI or ExtINT). Default: all. */
  readonly deliveryModes?: readonly DeliveryMode[];
  /** A name for error messages, e.g. `KVM`. */
  readonly backend: string;
}

/** Address bits 11:5, the paravirtual extended destination ID (APIC ID bits 14:8). */
const EXT_DEST_MASK = 0xfe0;

/**
 * The message as a hypervisor that takes 32-bit IDs from `addressHi` must receive it: extended
 * destination-ID bits (address bits 11:5, APIC ID bits 14:8) moved to `addressHi` bits 14:8 and
 * cleared below. A message without them, or one that already has an upper address (which then
 * names the destination, the low bits being reserved), is returned as it is. Never throws for an
 * {@link MsiMessage}; INVALID_ARGUMENT for anything else.
 */
export function translateExtendedDestinationId(msg: MsiMessage): MsiMessage {
  const [lo, hi, data] = checkedWords('translateExtendedDestinationId', msg);
  if ((lo & EXT_DEST_MASK) === 0 || hi !== 0) return { addressLo: lo, addressHi: hi, data };
  return { addressLo: (lo & ~EXT_DEST_MASK) >>> 0, addressHi: ((lo & EXT_DEST_MASK) << 3) >>> 0, data };
}

/** The policy {@link validateMsi} and {@link parseMsi} use when given none: `addressHi` must be 0, every delivery mode accepted. */
export const DEFAULT_MSI_POLICY: MsiPolicy = Object.freeze({ addressHi: 'reject', backend: 'x86' });

/**
 * Validates a message against the x86 rules and the backend's policy; returns its fields, read
 * from the message as the hypervisor receives it (with `extendedDestinationId: 'translate'`, the
 * extended destination ID is part of `destinationId`, see {@link translateExtendedDestinationId}).
 * Throws INVALID_MSI (with the message described) for anything a backend cannot deliver as meant,
 * among them a destination above `policy.maxApicId` (the error names the limit).
 */
export function validateMsi(operation: string, msg: MsiMessage, policy: MsiPolicy = DEFAULT_MSI_POLICY): MsiFields {
  operation = typeof operation === 'string' ? operation : 'validateMsi';
  const [lo, hi, data] = checkedWords(operation, msg);
  msg = { addressLo: lo, addressHi: hi, data };
  const pol = checkPolicy(operation, policy);
  const raw = decodeWords(lo, hi, data);
  const fail = (detail: string, hint: string): VirtError =>
    new VirtError('INVALID_MSI', { operation, detail: `${detail}: ${describeMsi(msg)}`, hint: `${hint} Nothing was changed.` });
  if (lo < MSI_WINDOW_BASE || lo > MSI_WINDOW_LAST) {
    throw fail('the address is outside the interrupt window 0xFEE00000-0xFEEFFFFF, so it is not an MSI', 'Program an address in 0xFEExxxxx.');
  }
  if (lo & 3) throw fail('address bits 1:0 must be 0', 'Use a DWORD-aligned message address.');
  if (raw.remappable) throw fail('the remappable (interrupt-remapping) format is not supported', 'Use the compatibility format (address bit 4 = 0).');
  if (raw.extendedDestinationId !== 0) {
    if (pol.extendedDestinationId !== 'translate') {
      throw fail(
        `address bits 11:5 (extended destination ID) are set, and ${pol.backend} does not offer extended destination IDs on this partition`,
        'Target an APIC ID from 0 to 255, or create the partition with x2APIC so that it offers them.',
      );
    }
    if (hi !== 0) {
      throw fail('both the extended destination ID (address bits 11:5) and the upper address are set', 'Carry destination bits above 7 in one place: address bits 11:5 or the upper address.');
    }
  }
  if (hi !== 0) {
    if (pol.addressHi === 'reject') {
      throw fail(`${pol.backend} requires the upper address to be 0 (APIC IDs above 255 are not addressable)`, 'Target an APIC ID from 0 to 255.');
    }
    if (hi & 0xff) throw fail('upper address bits 7:0 must be 0 with 32-bit x2APIC IDs', 'Put destination bits 31:8 in upper address bits 31:8.');
  }
  const f = raw.extendedDestinationId !== 0 ? decodeWords((lo & ~EXT_DEST_MASK) >>> 0, ((lo & EXT_DEST_MASK) << 3) >>> 0, data) : raw;
  if (pol.maxApicId !== undefined && f.destinationId > pol.maxApicId && !isBroadcast(f.destinationId, pol)) {
    if (f.destinationMode === 'physical') {
      throw fail(
        `destination APIC ID ${f.destinationId} is above ${pol.maxApicId}, the largest APIC ID ${pol.backend} can reach on this partition (maxApicId)`,
        `Target an APIC ID from 0 to ${pol.maxApicId}.`,
      );
    }
    // x2APIC logical destinations: cluster in bits 31:16, 16 APICs each (cluster c holds IDs 16c to 16c+15).
    if (pol.addressHi === 'x2apic-ids' && (f.destinationId >>> 16) * 16 > pol.maxApicId) {
      throw fail(
        `logical cluster ${f.destinationId >>> 16} holds APIC IDs from ${(f.destinationId >>> 16) * 16}, above ${pol.maxApicId}, the largest ${pol.backend} can reach on this partition (maxApicId)`,
        `Target a cluster from 0 to ${Math.floor(pol.maxApicId / 16)}.`,
      );
    }
  }
  if (data & DATA_RESERVED_MASK) throw fail('reserved data bits (31:16, 13:11) are set', 'Clear the reserved bits of the message data.');
  if (f.deliveryMode === undefined) throw fail(`delivery mode ${f.deliveryModeCode} is reserved`, 'Use fixed, lowest-priority, SMI, NMI, INIT or ExtINT.');
  if (pol.deliveryModes && !pol.deliveryModes.includes(f.deliveryMode)) {
    throw fail(`${pol.backend} cannot deliver ${f.deliveryMode} messages`, `Use one of: ${pol.deliveryModes.join(', ')}.`);
  }
  if ((f.deliveryMode === 'fixed' || f.deliveryMode === 'lowest-priority') && f.vector < 16) {
    throw fail(`vector ${f.vector} is reserved for exceptions`, 'Use a vector from 16 to 255.');
  }
  return f;
}

/** The all-ones destination: 0xFF with 8-bit IDs, 0xFFFFFFFF with 32-bit x2APIC IDs. */
function isBroadcast(dest: number, policy: MsiPolicy): boolean {
  return dest === (policy.addressHi === 'x2apic-ids' ? 0xffffffff : 0xff);
}

/** A one-line human description, for error messages and logs. Never throws, whatever `msg` is. */
export function describeMsi(msg: MsiMessage): string {
  let w: [number, number, number] | undefined;
  try {
    w = words(msg);
  } catch {
    w = undefined; // a getter that throws: still describe, never throw
  }
  if (!w) return `not an MSI message (${safeDescribe(msg)})`;
  const [lo, hi, data] = w;
  const addr = hi ? `${hex(hi)}_${hex(lo).slice(2)}` : hex(lo);
  const f = decodeWords(lo, hi, data);
  if (lo < MSI_WINDOW_BASE || lo > MSI_WINDOW_LAST) return `address ${addr} data ${hex(data)} (not an MSI address)`;
  const mode = f.deliveryMode ?? `reserved mode ${f.deliveryModeCode}`;
  return (
    `address ${addr} data ${hex(data)} (${mode}, vector 0x${f.vector.toString(16)} → ` +
    `${f.destinationMode} destination ${f.destinationId}, ${f.triggerMode})`
  );
}

function safeDescribe(v: unknown): string {
  try {
    return describeValue(v);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Whether two messages are the same three words. Never throws: anything that is not an
 * {@link MsiMessage} equals only itself (so `sameMsi(undefined, undefined)` is true).
 */
export function sameMsi(a: MsiMessage | undefined, b: MsiMessage | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return false;
  // Each field read once, nothing allocated: routing commits compare thousands of messages.
  const alo: unknown = a.addressLo;
  const blo: unknown = b.addressLo;
  if (!isWord(alo) || !isWord(blo) || alo >>> 0 !== blo >>> 0) return false;
  const ahi: unknown = a.addressHi;
  const bhi: unknown = b.addressHi;
  if (!isWord(ahi) || !isWord(bhi) || ahi >>> 0 !== bhi >>> 0) return false;
  const ad: unknown = a.data;
  const bd: unknown = b.data;
  return isWord(ad) && isWord(bd) && ad >>> 0 === bd >>> 0;
}

/** A 32-bit word as a message field may hold it: an integer from -2^31 to 2^32 - 1 (a negative int32 stands for the same bits). */
function isWord(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x8000_0000 && v <= 0xffff_ffff;
}

/** The policy, checked once (INVALID_ARGUMENT when it is not a policy object). */
function checkPolicy(operation: string, policy: unknown, requireBackend = false): MsiPolicy {
  const p = checkObject<Partial<Record<keyof MsiPolicy, unknown>>>(operation, 'policy', policy);
  const backend = p.backend;
  if (requireBackend && (typeof backend !== 'string' || backend === '')) throw invalidArgument(operation, `policy.backend must be a non-empty string, got ${describeValue(backend)}`);
  const addressHi = p.addressHi;
  if (addressHi !== 'reject' && addressHi !== 'x2apic-ids') throw invalidArgument(operation, `policy.addressHi must be 'reject' or 'x2apic-ids', got ${describeValue(addressHi)}`);
  const modes = p.deliveryModes;
  if (modes !== undefined && !Array.isArray(modes)) throw invalidArgument(operation, `policy.deliveryModes must be an array, got ${describeValue(modes)}`);
  const ext = p.extendedDestinationId;
  if (ext !== undefined && ext !== 'translate' && ext !== 'reject') {
    throw invalidArgument(operation, `policy.extendedDestinationId must be 'translate' or 'reject', got ${describeValue(ext)}`);
  }
  if (ext === 'translate' && addressHi !== 'x2apic-ids') {
    throw invalidArgument(operation, "policy.extendedDestinationId 'translate' needs addressHi 'x2apic-ids' (the translated bits go to the upper address)");
  }
  const maxApicId = p.maxApicId;
  if (maxApicId !== undefined && (typeof maxApicId !== 'number' || !Number.isInteger(maxApicId) || maxApicId < 0 || maxApicId > 0xfffffffe)) {
    throw invalidArgument(operation, `policy.maxApicId must be an integer from 0 to 0xFFFFFFFE, got ${describeValue(maxApicId)}`);
  }
  return {
    addressHi,
    backend: typeof backend === 'string' ? backend : 'x86',
    deliveryModes: modes as DeliveryMode[] | undefined,
    ...(ext === undefined ? {} : { extendedDestinationId: ext }),
    ...(maxApicId === undefined ? {} : { maxApicId }),
  };
}

/**
 * A policy checked and copied once (each field read once), frozen, for code that keeps one:
 * INVALID_ARGUMENT, naming `operation`, for a malformed policy or one without a `backend` name.
 */
export function checkMsiPolicy(operation: string, policy: unknown): MsiPolicy {
  const p = checkPolicy(operation, policy, true);
  return Object.freeze({ ...p, ...(p.deliveryModes === undefined ? {} : { deliveryModes: Object.freeze([...p.deliveryModes]) }) });
}

/**
 * `toMsiMessage` then `validateMsi`: the one check every `setMsi` / `requestMsi` runs first.
 * Returns the message as the hypervisor must receive it: with `policy.extendedDestinationId`
 * `'translate'`, an extended destination ID is moved to the upper address
 * ({@link translateExtendedDestinationId}); the message means the same destination.
 */
export function parseMsi(operation: string, address: unknown, data: unknown, policy: MsiPolicy = DEFAULT_MSI_POLICY): MsiMessage {
  operation = typeof operation === 'string' ? operation : 'parseMsi';
  return checkedMessage(operation, toMsiMessage(operation, address, data), policy);
}

/**
 * {@link parseMsi} for a message already held as its three 32-bit words (an MSI-X table entry):
 * the address is never joined into one number or bigint. `addressLo`, `addressHi` and `data` must
 * each be an integer from 0 to 0xFFFFFFFF (INVALID_ARGUMENT naming the word otherwise); then the
 * same rules, errors (INVALID_MSI) and translation as {@link parseMsi}. For a message that passes
 * every rule the only allocation is the returned message.
 */
export function parseMsiWords(operation: string, addressLo: unknown, addressHi: unknown, data: unknown, policy: MsiPolicy = DEFAULT_MSI_POLICY): MsiMessage {
  operation = typeof operation === 'string' ? operation : 'parseMsiWords';
  // `v >>> 0 === v` holds exactly for the integers 0 to 0xFFFFFFFF: one test per word on the hot path.
  if (!(typeof addressLo === 'number' && addressLo >>> 0 === addressLo && typeof addressHi === 'number' && addressHi >>> 0 === addressHi && typeof data === 'number' && data >>> 0 === data)) {
    checkWord(operation, 'addressLo', addressLo);
    checkWord(operation, 'addressHi', addressHi);
    checkWord(operation, 'data', data);
  }
  return checkedMessage(operation, { addressLo: (addressLo as number) >>> 0, addressHi: (addressHi as number) >>> 0, data: (data as number) >>> 0 }, policy);
}

function checkWord(operation: string, name: MsiWord, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw invalidArgument(operation, `${name} must be a 32-bit unsigned integer, got ${describeValue(v)}`);
  }
}

/** The message as the hypervisor must receive it under `policy`, or INVALID_MSI saying what is wrong. */
function checkedMessage(operation: string, msg: MsiMessage, policy: MsiPolicy): MsiMessage {
  // The hot path of every guest table write: a message that passes every rule allocates nothing
  // more. Anything else goes through validateMsi, which says what is wrong.
  if (deliverable(msg.addressLo, msg.addressHi, msg.data, policy)) return msg;
  validateMsi(operation, msg, policy);
  return (msg.addressLo & EXT_DEST_MASK) === 0 ? msg : translateExtendedDestinationId(msg);
}

/**
 * True when {@link validateMsi} accepts the message under `policy` (false also for a policy it
 * would refuse): the same rules, as bit tests, with nothing allocated. Exactly equivalent (a
 * property test holds them together).
 */
function deliverable(lo: number, hi: number, data: number, policy: MsiPolicy): boolean {
  if (typeof policy !== 'object' || policy === null) return false;
  const addressHiRule: unknown = policy.addressHi;
  const modes: unknown = policy.deliveryModes;
  if (addressHiRule !== 'reject' && addressHiRule !== 'x2apic-ids') return false;
  if (modes !== undefined && !Array.isArray(modes)) return false;
  const ext: unknown = policy.extendedDestinationId;
  const maxApicId: unknown = policy.maxApicId;
  if (ext !== undefined && ext !== 'reject' && !(ext === 'translate' && addressHiRule === 'x2apic-ids')) return false;
  if (maxApicId !== undefined && (typeof maxApicId !== 'number' || !Number.isInteger(maxApicId) || maxApicId < 0 || maxApicId > 0xfffffffe)) return false;
  // Window 0xFEExxxxx, DWORD-aligned, compatibility format (bit 4 clear), no extended destination ID (11:5).
  if (lo < MSI_WINDOW_BASE || lo > MSI_WINDOW_LAST || (lo & 0xff3) !== 0) return false;
  if (hi !== 0 && (addressHiRule === 'reject' || (hi & 0xff) !== 0)) return false;
  if (data & DATA_RESERVED_MASK) return false;
  if (typeof maxApicId === 'number') {
    const dest = ((hi & 0xffffff00) | ((lo >>> 12) & 0xff)) >>> 0;
    if (dest > maxApicId && dest !== (addressHiRule === 'x2apic-ids' ? 0xffffffff : 0xff)) {
      if ((lo & 4) === 0 || (addressHiRule === 'x2apic-ids' && (dest >>> 16) * 16 > maxApicId)) return false;
    }
  }
  const mode = DELIVERY_MODE_BY_CODE[(data >>> 8) & 7];
  if (mode === undefined) return false;
  if (modes !== undefined && !(modes as readonly unknown[]).includes(mode)) return false;
  return !((mode === 'fixed' || mode === 'lowest-priority') && (data & 0xff) < 16);
}
