/**
 * The MSI-X emulator: the capability in config space, the table and the pending-bit array in BARs,
 * and the per-vector routes kept in step with what the guest programs.
 *
 * Guest-facing methods (`read*`, `write*`, `configRead`, `configWrite`, `signal`) never throw: every
 * access of any size, offset and alignment has a defined result (see README, "Access rules"), and
 * a route that fails is reported through `onError` while the vector keeps its interrupts pending.
 */
import { DEFAULT_MSI_POLICY, type MsiPolicy, VirtError, invalidArgument, validateMsi } from '@tsvmm/virt';
import {
  MSIX_CAPABILITY_ID,
  MSIX_CAPABILITY_SIZE,
  MSIX_CONTROL_ENABLE,
  MSIX_CONTROL_FUNCTION_MASK,
  type MsixLayout,
  type MsixLayoutOptions,
  checkLayout,
} from './layout';
import type { MsiInjector, MsixBatch, MsixErrorHandler, MsixRoute } from './route';
import { type MsixState, checkState } from './state';

export interface MsixEmulatorOptions extends MsixLayoutOptions {
  /** Config-space offset of the next capability (the capability list is owned by the caller). Default 0. */
  readonly nextPointer?: number;
  /**
   * User-space delivery for vectors that have no route (`Partition.requestMsi`). Without it, a
   * vector with no route cannot deliver and its interrupts stay pending.
   */
  readonly requestMsi?: MsiInjector;
  /**
   * Which messages a route-less vector may send through `requestMsi` (checked before injecting, so
   * a guest's garbage never reaches the hypervisor). Routed vectors are checked by their route.
   * Default: `DEFAULT_MSI_POLICY` (upper address must be 0).
   */
  readonly policy?: MsiPolicy;
  /** Called with every route or injection failure. The emulator never throws into the guest path. */
  readonly onError?: MsixErrorHandler;
}

export interface MsixRouteOptions {
  /** The backend's batch (`IrqFd.batch`): bulk transitions run inside one call of it. */
  readonly batch?: MsixBatch;
}

/** The MSI-X entry as the guest programmed it (diagnostic view; no side effects). */
export interface MsixEntry {
  readonly addressLo: number;
  readonly addressHi: number;
  readonly data: number;
  readonly masked: boolean;
}

export type MsixRegion = 'table' | 'pba';

/** Tracked route state: 0 no, 1 yes, 2 unknown (after a failed batch or a fresh `setRoutes`). */
const NO = 0;
const YES = 1;
const UNKNOWN = 2;

/** Bits of `touched` in {@link MsixEmulator.writeEntry}: which DWORDs of an entry a write covered. */
const T_LO = 1;
const T_HI = 2;
const T_DATA = 4;
const T_CTRL = 8;

const noBatch: MsixBatch = (fn) => fn();

export class MsixEmulator {
  readonly layout: MsixLayout;
  readonly vectors: number;

  // Placement, copied into fields for the hot path.
  private readonly tBar: number;
  private readonly tOff: number;
  private readonly tSize: number;
  private readonly pBar: number;
  private readonly pOff: number;
  private readonly pSize: number;

  /** The table: 4 words per vector (address lo with bits 1:0 zero, address hi, data, control bit 0). */
  private readonly words: Uint32Array;
  /** Pending bits the emulator holds (route-latched signals are folded in when the PBA is read). */
  private readonly pending: Uint8Array;
  /** 1 while the vector delivers: unmasked, its message accepted, and a route armed or an injector present. */
  private readonly open: Uint8Array;

  private enable = false;
  private functionMask = false;
  /** `enable && !functionMask`. */
  private functionOpen = false;
  private nextPtr: number;

  /**
   * At most one entry can have a half-written address: the guest wrote one address DWORD of an
   * unmasked vector. Its route keeps the last complete message (`stagedLo/Hi`) until the entry is
   * consistent again; see {@link writeEntry}.
   */
  private stagedVector = -1;
  private stagedHalves = 0;
  private stagedLo = 0;
  private stagedHi = 0;

  private routes: readonly (MsixRoute | undefined)[] | undefined;
  private batch: MsixBatch = noBatch;
  private readonly rMasked: Uint8Array;
  private readonly rHasMsi: Uint8Array;
  private readonly rMsi: Uint32Array;

  private readonly inject: MsiInjector | undefined;
  private readonly policy: MsiPolicy;
  private readonly onError: MsixErrorHandler | undefined;
  private errors = 0;
  private lastErr: Error | undefined;

  private readonly scratch = new Uint8Array(8);

  constructor(options: MsixEmulatorOptions) {
    const op = 'new MsixEmulator';
    this.layout = checkLayout(op, options);
    const l = this.layout;
    this.vectors = l.vectors;
    this.tBar = l.tableBir;
    this.tOff = l.tableOffset;
    this.tSize = l.tableSize;
    this.pBar = l.pbaBir;
    this.pOff = l.pbaOffset;
    this.pSize = l.pbaSize;
    this.nextPtr = checkNextPointer(op, options.nextPointer ?? 0);
    if (options.requestMsi !== undefined && typeof options.requestMsi !== 'function') {
      throw invalidArgument(op, 'requestMsi must be a function (addressLo, addressHi, data) => void');
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw invalidArgument(op, 'onError must be a function (error, vector, operation) => void');
    }
    const policy = options.policy ?? DEFAULT_MSI_POLICY;
    // A malformed policy would make every route-less message "invalid": interrupts held forever, silently.
    if (typeof policy !== 'object' || policy === null || (policy.addressHi !== 'reject' && policy.addressHi !== 'x2apic-ids')) {
      throw invalidArgument(op, "policy must be an MsiPolicy ({ addressHi: 'reject' | 'x2apic-ids', backend }), e.g. the partition's or DEFAULT_MSI_POLICY");
    }
    this.inject = options.requestMsi;
    this.policy = policy;
    this.onError = options.onError;
    const n = l.vectors;
    this.words = new Uint32Array(n * 4);
    this.pending = new Uint8Array(n);
    this.open = new Uint8Array(n);
    this.rMasked = new Uint8Array(n);
    this.rHasMsi = new Uint8Array(n);
    this.rMsi = new Uint32Array(n * 3);
    for (let v = 0; v < n; v++) this.words[v * 4 + 3] = 1;
  }

  // ---------------------------------------------------------------- state getters (no side effects)

  get enabled(): boolean {
    return this.enable;
  }

  get functionMasked(): boolean {
    return this.functionMask;
  }

  get nextPointer(): number {
    return this.nextPtr;
  }

  /** The config-space code owns the capability list; it sets the next pointer here. */
  set nextPointer(value: number) {
    this.nextPtr = checkNextPointer('MsixEmulator.nextPointer', value);
  }

  /** Route and injection failures reported so far. */
  get errorCount(): number {
    return this.errors;
  }

  get lastError(): Error | undefined {
    return this.lastErr;
  }

  /** The entry as the guest programmed it. INVALID_ARGUMENT for a vector out of range. */
  entry(vector: number): MsixEntry {
    this.checkVector('MsixEmulator.entry', vector);
    const b = vector * 4;
    const w = this.words;
    return { addressLo: w[b]!, addressHi: w[b + 1]!, data: w[b + 2]!, masked: (w[b + 3]! & 1) === 1 };
  }

  /**
   * True when the vector may send: Enable set, Function Mask clear and its Mask bit clear
   * (PCI "masked" in the spec's sense, independent of whether its message is valid).
   */
  isMasked(vector: number): boolean {
    this.checkVector('MsixEmulator.isMasked', vector);
    return !(this.functionOpen && (this.words[vector * 4 + 3]! & 1) === 0);
  }

  /** True while the vector really delivers (unmasked, message accepted, route armed or injector present). */
  isDelivering(vector: number): boolean {
    this.checkVector('MsixEmulator.isDelivering', vector);
    return this.open[vector] === 1;
  }

  /** The pending bit the emulator holds now, without asking routes (a guest PBA read also folds route-latched signals in). */
  isPendingHeld(vector: number): boolean {
    this.checkVector('MsixEmulator.isPendingHeld', vector);
    return this.pending[vector] === 1;
  }

  // ---------------------------------------------------------------- BAR dispatch

  /**
   * Which structure owns byte `offset` of BAR `bar`, if any: a device model dispatches with this.
   * An offset that is not a safe integer belongs to neither (as `read`/`write` ignore it), so
   * dispatch and access always agree.
   */
  region(bar: number, offset: number): MsixRegion | undefined {
    if (!Number.isSafeInteger(offset)) return undefined;
    if (bar === this.tBar) {
      const rel = offset - this.tOff;
      if (rel >= 0 && rel < this.tSize) return 'table';
    }
    if (bar === this.pBar) {
      const rel = offset - this.pOff;
      if (rel >= 0 && rel < this.pSize) return 'pba';
    }
    return undefined;
  }

  /**
   * True when any byte of `[offset, offset + length)` in BAR `bar` belongs to the table or the PBA,
   * i.e. exactly when `read`/`write` of that access would return true.
   */
  claims(bar: number, offset: number, length: number): boolean {
    if (!(length > 0) || !Number.isSafeInteger(offset)) return false;
    const end = offset + length;
    return (
      (bar === this.tBar && offset < this.tOff + this.tSize && end > this.tOff) ||
      (bar === this.pBar && offset < this.pOff + this.pSize && end > this.pOff)
    );
  }

  // ---------------------------------------------------------------- MMIO: fast paths

  /**
   * A DWORD read. Aligned DWORDs of the table and PBA read per the spec; any other offset reads
   * as {@link read} with 4 bytes (bytes outside the structures read 0).
   */
  read32(bar: number, offset: number): number {
    if (bar === this.tBar) {
      const rel = offset - this.tOff;
      if ((rel >>> 0) === rel && rel < this.tSize && (rel & 3) === 0) {
        if (this.stagedVector >= 0) this.commitStaged();
        return this.words[rel >>> 2]!;
      }
    }
    const s = this.scratch;
    s.fill(0, 0, 4);
    this.readInto(bar, offset, 4, s);
    return (s[0]! | (s[1]! << 8) | (s[2]! << 16) | (s[3]! << 24)) >>> 0;
  }

  /** A DWORD write; see {@link write} for anything other than an aligned table DWORD. */
  write32(bar: number, offset: number, value: number): void {
    if (bar === this.tBar) {
      const rel = offset - this.tOff;
      if ((rel >>> 0) === rel && rel < this.tSize && (rel & 3) === 0) {
        const v = rel >>> 4;
        if (this.stagedVector >= 0 && this.stagedVector !== v) this.commitStaged();
        const w = this.words;
        const b = v * 4;
        const field = (rel >>> 2) & 3;
        // The common case, programming a masked vector: the route is not involved.
        if (field !== 3 && (!this.functionOpen || (w[b + 3]! & 1) === 1)) {
          w[b + field] = field === 0 ? value & ~3 : value;
          return;
        }
        switch (field) {
          case 0:
            this.writeEntry(v, value, w[b + 1]!, w[b + 2]!, w[b + 3]!, T_LO);
            return;
          case 1:
            this.writeEntry(v, w[b]!, value, w[b + 2]!, w[b + 3]!, T_HI);
            return;
          case 2:
            this.writeEntry(v, w[b]!, w[b + 1]!, value, w[b + 3]!, T_DATA);
            return;
          default:
            this.writeEntry(v, w[b]!, w[b + 1]!, w[b + 2]!, value, T_CTRL);
            return;
        }
      }
    }
    const s = this.scratch;
    s[0] = value;
    s[1] = value >>> 8;
    s[2] = value >>> 16;
    s[3] = value >>> 24;
    this.writeFrom(bar, offset, 4, s);
  }

  /** A QWORD read as a bigint. For bigint-free QWORD reads use {@link read} with 8 bytes. */
  read64(bar: number, offset: number): bigint {
    const s = this.scratch;
    s.fill(0);
    this.readInto(bar, offset, 8, s);
    const lo = (s[0]! | (s[1]! << 8) | (s[2]! << 16) | (s[3]! << 24)) >>> 0;
    const hi = (s[4]! | (s[5]! << 8) | (s[6]! << 16) | (s[7]! << 24)) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A QWORD write of a bigint (only its low 64 bits count). */
  write64(bar: number, offset: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.write64Halves(bar, offset, Number(v & 0xffffffffn), Number(v >> 32n));
  }

  /**
   * A QWORD write given as its low and high DWORDs (bigint-free). An aligned QWORD at entry +0
   * sets address low and high at once; at +8 it sets data and vector control at once.
   */
  write64Halves(bar: number, offset: number, lo: number, hi: number): void {
    if (bar === this.tBar) {
      const rel = offset - this.tOff;
      if ((rel >>> 0) === rel && rel < this.tSize && (rel & 7) === 0) {
        const v = rel >>> 4;
        if (this.stagedVector >= 0 && this.stagedVector !== v) this.commitStaged();
        const w = this.words;
        const b = v * 4;
        if (rel & 8) this.writeEntry(v, w[b]!, w[b + 1]!, lo, hi, T_DATA | T_CTRL);
        else this.writeEntry(v, lo, hi, w[b + 2]!, w[b + 3]!, T_LO | T_HI);
        return;
      }
    }
    const s = this.scratch;
    s[0] = lo;
    s[1] = lo >>> 8;
    s[2] = lo >>> 16;
    s[3] = lo >>> 24;
    s[4] = hi;
    s[5] = hi >>> 8;
    s[6] = hi >>> 16;
    s[7] = hi >>> 24;
    this.writeFrom(bar, offset, 8, s);
  }

  // ---------------------------------------------------------------- MMIO: any size

  /**
   * Reads `out.length` bytes (any length, offset, alignment) at `offset` of BAR `bar`, little
   * endian. Bytes that fall in the table or the PBA are filled; the others are left as they are,
   * for the device model's other registers. Returns true if any byte was the emulator's.
   */
  read(bar: number, offset: number, out: Uint8Array): boolean {
    return this.readInto(bar, offset, out.length, out);
  }

  /**
   * Writes `data` (any length, offset, alignment) at `offset` of BAR `bar`. Bytes outside the
   * table are ignored (PBA bytes too: the PBA is read-only). Each table entry the write covers is
   * updated at once, with the written bytes merged into its DWORDs. Returns true if any byte was
   * the emulator's.
   */
  write(bar: number, offset: number, data: Uint8Array): boolean {
    return this.writeFrom(bar, offset, data.length, data);
  }

  private readInto(bar: number, offset: number, len: number, out: Uint8Array): boolean {
    if (!this.claims(bar, offset, len)) return false;
    if (this.stagedVector >= 0) this.commitStaged();
    if (bar === this.tBar) {
      const from = Math.max(offset, this.tOff);
      const to = Math.min(offset + len, this.tOff + this.tSize);
      const w = this.words;
      for (let a = from; a < to; a++) {
        const rel = a - this.tOff;
        out[a - offset] = w[rel >>> 2]! >>> ((rel & 3) * 8);
      }
    }
    if (bar === this.pBar) {
      const from = Math.max(offset, this.pOff);
      const to = Math.min(offset + len, this.pOff + this.pSize);
      for (let a = from; a < to; a++) out[a - offset] = this.pbaByte(a - this.pOff);
    }
    return true;
  }

  private writeFrom(bar: number, offset: number, len: number, data: Uint8Array): boolean {
    if (!this.claims(bar, offset, len)) return false;
    if (bar !== this.tBar) {
      if (this.stagedVector >= 0) this.commitStaged();
      return true; // PBA only: read-only, the write is dropped
    }
    const from = Math.max(offset, this.tOff);
    const to = Math.min(offset + len, this.tOff + this.tSize);
    const touchesPba = bar === this.pBar && offset < this.pOff + this.pSize && offset + len > this.pOff;
    if (from >= to) {
      if (this.stagedVector >= 0) this.commitStaged();
      return true;
    }
    const first = (from - this.tOff) >>> 4;
    const last = (to - 1 - this.tOff) >>> 4;
    if (this.stagedVector >= 0 && (touchesPba || first !== last || first !== this.stagedVector)) this.commitStaged();
    const w = this.words;
    for (let v = first; v <= last; v++) {
      const base = this.tOff + v * 16;
      const b = v * 4;
      let lo = w[b]!;
      let hi = w[b + 1]!;
      let dt = w[b + 2]!;
      let ct = w[b + 3]!;
      let touched = 0;
      const s = Math.max(from, base);
      const e = Math.min(to, base + 16);
      for (let a = s; a < e; a++) {
        const rel = a - base;
        const shift = (rel & 3) * 8;
        const byteMask = ~(0xff << shift);
        const byte = (data[a - offset]! & 0xff) << shift;
        switch (rel >>> 2) {
          case 0:
            lo = (lo & byteMask) | byte;
            touched |= T_LO;
            break;
          case 1:
            hi = (hi & byteMask) | byte;
            touched |= T_HI;
            break;
          case 2:
            dt = (dt & byteMask) | byte;
            touched |= T_DATA;
            break;
          default:
            ct = (ct & byteMask) | byte;
            touched |= T_CTRL;
            break;
        }
      }
      this.writeEntry(v, lo, hi, dt, ct, touched);
    }
    return true;
  }

  /**
   * Applies one entry's new DWORDs (`touched` says which the guest wrote) at once.
   *
   * Address changes while the vector is unmasked: a write of exactly one address DWORD is staged.
   * The table shows it at once, but the route keeps the last complete message until the entry is
   * consistent: the other address DWORD is written (both halves then apply together), the data or
   * vector control is written, or any other emulator operation happens (an access elsewhere, a
   * config write, a signal). So a 64-bit address changed by two DWORD writes, in either order, is
   * never programmed half-updated, and a lone low-DWORD retarget applies to the next message.
   */
  private writeEntry(v: number, lo: number, hi: number, data: number, ctrl: number, touched: number): void {
    const w = this.words;
    const b = v * 4;
    const newLo = (lo & ~3) >>> 0;
    const newHi = hi >>> 0;
    const unmaskedBefore = this.functionOpen && (w[b + 3]! & 1) === 0;
    if (unmaskedBefore && (touched === T_LO || touched === T_HI)) {
      if (this.stagedVector === v) {
        this.stagedHalves |= touched;
        w[b] = newLo;
        w[b + 1] = newHi;
        if (this.stagedHalves === (T_LO | T_HI)) this.commitStaged();
        return;
      }
      this.stagedVector = v;
      this.stagedHalves = touched;
      this.stagedLo = w[b]!;
      this.stagedHi = w[b + 1]!;
      w[b] = newLo;
      w[b + 1] = newHi;
      return;
    }
    const wasStaged = this.stagedVector === v;
    if (wasStaged) this.stagedVector = -1;
    const changed = w[b] !== newLo || w[b + 1] !== newHi || w[b + 2] !== data >>> 0;
    w[b] = newLo;
    w[b + 1] = newHi;
    w[b + 2] = data;
    w[b + 3] = ctrl & 1;
    const unmaskedAfter = this.functionOpen && (ctrl & 1) === 0;
    if (unmaskedBefore !== unmaskedAfter || (unmaskedAfter && (changed || wasStaged))) this.sync(v);
  }

  private commitStaged(): void {
    const v = this.stagedVector;
    this.stagedVector = -1;
    this.sync(v);
  }

  // ---------------------------------------------------------------- PBA

  /** One PBA byte: vectors 8*i .. 8*i+7 (bits beyond the last vector read 0). */
  private pbaByte(i: number): number {
    let byte = 0;
    const first = i * 8;
    const end = Math.min(first + 8, this.vectors);
    for (let v = first; v < end; v++) if (this.pendingBit(v)) byte |= 1 << (v - first);
    return byte;
  }

  /**
   * The pending bit of `v` as the guest sees it. A vector that does not deliver may have a signal
   * latched in its route (a device signalled the event directly): `consumePending` moves it into
   * the emulator's bit, which then stays set until the vector delivers. A delivering vector's
   * route is never asked (it has nothing latched; asking must not drain anything).
   */
  private pendingBit(v: number): boolean {
    if (this.pending[v] === 1) return true;
    if (this.open[v] === 1) return false;
    const r = this.routes?.[v];
    if (r === undefined || !(this.rMasked[v] === YES || this.rHasMsi[v] === NO)) return false;
    try {
      if (r.consumePending()) {
        this.pending[v] = 1;
        return true;
      }
    } catch (e) {
      this.report(e, v, 'MsixRoute.consumePending');
    }
    return false;
  }

  // ---------------------------------------------------------------- config space

  /**
   * Reads `size` bytes (1-4) at `offset` within the 12-byte capability, little endian. Bytes
   * outside the capability read 0, as do other sizes.
   */
  configRead(offset: number, size: number): number {
    if (this.stagedVector >= 0) this.commitStaged();
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) return 0;
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.capabilityByte(offset + i) << (8 * i);
    return value >>> 0;
  }

  /**
   * Writes `size` bytes (1-4) of `value` at `offset` within the capability. Only Message Control
   * bits 15 (Enable) and 14 (Function Mask), i.e. byte +3 bits 7:6, are writable; everything else
   * is read-only and the write to it is dropped.
   */
  configWrite(offset: number, size: number, value: number): void {
    if (this.stagedVector >= 0) this.commitStaged();
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) return;
    const i = 3 - offset;
    if (i < 0 || i >= size) return;
    const byte = (value >>> (8 * i)) & 0xff;
    this.setControl((byte & 0x80) !== 0, (byte & 0x40) !== 0);
  }

  /** The capability image: ID, next pointer, Message Control, Table and PBA offset/BIR. */
  private capabilityByte(i: number): number {
    if (i < 0 || i >= MSIX_CAPABILITY_SIZE) return 0;
    let dword: number;
    switch (i >>> 2) {
      case 0:
        dword =
          MSIX_CAPABILITY_ID |
          (this.nextPtr << 8) |
          ((this.vectors - 1) << 16) |
          (this.functionMask ? MSIX_CONTROL_FUNCTION_MASK << 16 : 0) |
          (this.enable ? MSIX_CONTROL_ENABLE << 16 : 0);
        break;
      case 1:
        dword = this.tOff | this.tBar;
        break;
      default:
        dword = this.pOff | this.pBar;
        break;
    }
    return (dword >>> (8 * (i & 3))) & 0xff;
  }

  /** Enable / Function Mask transitions: every route whose state changes, in one batch. */
  private setControl(enable: boolean, functionMask: boolean): void {
    if (this.stagedVector >= 0) this.commitStaged();
    const wasEnabled = this.enable;
    const wasOpen = this.functionOpen;
    if (enable === wasEnabled && functionMask === this.functionMask) return;
    this.enable = enable;
    this.functionMask = functionMask;
    this.functionOpen = enable && !functionMask;
    if (wasEnabled && !enable) {
      // Disable: every route masked and cleared.
      this.bulk(() => {
        for (let v = 0; v < this.vectors; v++) this.sync(v);
      });
    } else if (enable && (!wasEnabled || wasOpen !== this.functionOpen)) {
      // Enable, or Function Mask changed: open vectors armed (pending ones delivered once), closed
      // ones masked, and masked ones preloaded so their later unmask costs no commit.
      this.bulk(() => {
        for (let v = 0; v < this.vectors; v++) this.sync(v, true);
      });
    }
  }

  // ---------------------------------------------------------------- device side

  /**
   * The device raises vector `vector` (the user-space path, for emulated devices). If the vector
   * delivers, the interrupt goes through its route's event (or `requestMsi` when it has no route);
   * otherwise its pending bit is set, and it is delivered once when the vector opens. Returns true
   * if it was sent now. A vector that does not exist is ignored (false). Never throws.
   */
  signal(vector: number): boolean {
    if (!(Number.isInteger(vector) && vector >= 0 && vector < this.vectors)) return false;
    if (this.stagedVector >= 0) this.commitStaged();
    if (this.open[vector] === 1) {
      const r = this.routes?.[vector];
      try {
        if (r !== undefined) r.signal();
        else this.injectNow(vector);
        return true;
      } catch (e) {
        this.report(e, vector, r !== undefined ? 'MsixRoute.signal' : 'requestMsi');
      }
    }
    this.pending[vector] = 1;
    return false;
  }

  // ---------------------------------------------------------------- routes

  /**
   * Attaches one route per vector (`undefined` for a vector that has none: it then delivers through
   * `requestMsi`). The routes' current state is unknown to the emulator, so every route is driven
   * to the guest's state, in one batch. Replaces (detaches) routes set before.
   * INVALID_ARGUMENT, before any change, for a wrong length or something that is not a route.
   */
  setRoutes(routes: readonly (MsixRoute | undefined)[], options: MsixRouteOptions = {}): void {
    const op = 'MsixEmulator.setRoutes';
    if (!Array.isArray(routes) || routes.length !== this.vectors) {
      throw invalidArgument(op, `routes must be an array of ${this.vectors} entries (one per vector, undefined for none)`);
    }
    const seen = new Set<unknown>();
    for (let v = 0; v < routes.length; v++) {
      const r = routes[v] as Partial<MsixRoute> | undefined | null;
      if (r === undefined || r === null) continue;
      if (seen.has(r)) throw invalidArgument(op, `routes[${v}] is also given for another vector; each vector needs its own route`);
      seen.add(r);
      for (const m of ['setMsi', 'clearMsi', 'mask', 'unmask', 'consumePending', 'signal'] as const) {
        if (typeof r[m] !== 'function') throw invalidArgument(op, `routes[${v}] has no ${m}() method`);
      }
    }
    const batch = options.batch;
    if (batch !== undefined && typeof batch !== 'function') throw invalidArgument(op, 'options.batch must be a function');
    if (this.routes !== undefined) this.clearRoutes();
    if (this.stagedVector >= 0) this.commitStaged();
    const list: (MsixRoute | undefined)[] = [];
    for (let v = 0; v < this.vectors; v++) list.push((routes[v] as MsixRoute | null | undefined) ?? undefined);
    this.routes = list;
    this.batch = batch ?? noBatch;
    this.rMasked.fill(UNKNOWN);
    this.rHasMsi.fill(UNKNOWN);
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) this.sync(v, true);
    });
  }

  /**
   * Detaches the routes: each is masked and loses its message, and a signal latched in it moves
   * into the pending bit (nothing is lost). Vectors then deliver through `requestMsi`, if given.
   */
  clearRoutes(): void {
    const routes = this.routes;
    if (routes === undefined) return;
    if (this.stagedVector >= 0) this.commitStaged();
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) {
        const r = routes[v];
        if (r === undefined) continue;
        const masked = this.call(v, 'MsixRoute.mask', () => r.mask());
        const cleared = this.call(v, 'MsixRoute.clearMsi', () => r.clearMsi());
        // An armed route has nothing latched; asking it anyway is what the guest path never does.
        if (masked || cleared) {
          this.call(v, 'MsixRoute.consumePending', () => {
            if (r.consumePending()) this.pending[v] = 1;
          });
        }
      }
    });
    this.routes = undefined;
    this.batch = noBatch;
    for (let v = 0; v < this.vectors; v++) this.sync(v);
  }

  /**
   * Drives every route to the guest's state again, in one batch. The emulator does this itself on
   * every transition; call it after a reported failure (e.g. a failed commit) once the cause is gone.
   */
  resync(): void {
    if (this.stagedVector >= 0) this.commitStaged();
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) this.sync(v, true);
    });
  }

  // ---------------------------------------------------------------- reset, save, restore

  /**
   * Function reset: Enable 0, Function Mask 0, every vector masked with address and data 0, no
   * pending bits. Routes stay attached: masked, without a message, their latched signals dropped.
   */
  reset(): void {
    this.stagedVector = -1;
    this.enable = false;
    this.functionMask = false;
    this.functionOpen = false;
    const w = this.words;
    w.fill(0);
    for (let v = 0; v < this.vectors; v++) w[v * 4 + 3] = 1;
    this.pending.fill(0);
    this.dropRouteLatches();
  }

  /**
   * The table, PBA and control state, as plain JSON-able data. Signals latched in routes are folded
   * into the pending bits first, so the snapshot holds every pending interrupt.
   */
  save(): MsixState {
    if (this.stagedVector >= 0) this.commitStaged();
    for (let v = 0; v < this.vectors; v++) this.pendingBit(v);
    const pending: number[] = [];
    for (let v = 0; v < this.vectors; v++) if (this.pending[v] === 1) pending.push(v);
    return {
      version: 1,
      vectors: this.vectors,
      enable: this.enable,
      functionMask: this.functionMask,
      table: Array.from(this.words),
      pending,
    };
  }

  /**
   * Restores a {@link save} snapshot taken from an emulator with the same vector count. Signals
   * latched in the routes are dropped (the snapshot's pending bits replace them) and every route is
   * driven to the restored state, in one batch. INVALID_ARGUMENT, before any change, for a
   * snapshot that does not fit.
   */
  restore(state: MsixState): void {
    checkState('MsixEmulator.restore', state, this.vectors);
    this.stagedVector = -1;
    const w = this.words;
    for (let i = 0; i < w.length; i++) {
      const x = state.table[i]!;
      w[i] = (i & 3) === 0 ? x & ~3 : (i & 3) === 3 ? x & 1 : x;
    }
    this.pending.fill(0);
    for (const v of state.pending) this.pending[v] = 1;
    this.enable = state.enable;
    this.functionMask = state.functionMask;
    this.functionOpen = state.enable && !state.functionMask;
    this.dropRouteLatches();
  }

  /** Masks every route and drops what it latched, then drives it to the current state; one batch. */
  private dropRouteLatches(): void {
    const routes = this.routes;
    this.bulk(() => {
      for (let v = 0; v < this.vectors; v++) {
        const r = routes?.[v];
        if (r !== undefined) {
          this.open[v] = 0;
          if (this.rMasked[v] !== YES && this.call(v, 'MsixRoute.mask', () => r.mask())) this.rMasked[v] = YES;
          if (this.rMasked[v] === YES) this.call(v, 'MsixRoute.consumePending', () => r.consumePending());
        }
        this.sync(v, true);
      }
    });
  }

  // ---------------------------------------------------------------- the route state machine

  /**
   * Brings vector `v`'s route (or, without a route, its `open` flag) to what the registers say. A
   * vector delivers when it is unmasked and its message is accepted; a pending bit is delivered
   * exactly once as it opens, by latching it in the still-masked route before arming it (the
   * route's own latch coalesces with it), so the interrupt has exactly one path into the guest.
   * Never throws: failures are reported and leave the vector not delivering, its interrupts pending.
   *
   * `preload` (bulk transitions only): a masked vector of an enabled function that holds an MSI
   * address gets its message programmed too, inside the same batch, so the guest's later per-vector
   * unmask (how Linux brings vectors up) costs no routing commit of its own. A message the route
   * refuses is not an error while the vector is masked: it is reported if the guest unmasks it.
   */
  private sync(v: number, preload = false): void {
    const b = v * 4;
    const w = this.words;
    const unmasked = this.functionOpen && (w[b + 3]! & 1) === 0;
    const staged = v === this.stagedVector;
    const lo = staged ? this.stagedLo : w[b]!;
    const hi = staged ? this.stagedHi : w[b + 1]!;
    const data = w[b + 2]!;
    const r = this.routes?.[v];
    if (r === undefined) {
      const deliverable = unmasked && this.inject !== undefined && this.acceptable(lo, hi, data);
      this.open[v] = deliverable ? 1 : 0;
      if (deliverable && this.pending[v] === 1) {
        this.pending[v] = 0;
        try {
          this.inject(lo, hi, data);
        } catch (e) {
          this.report(e, v, 'requestMsi');
        }
      }
      return;
    }
    if (unmasked) {
      if (this.arm(v, r, lo, hi, data)) return;
    }
    this.open[v] = 0;
    if (this.rMasked[v] !== YES && this.call(v, 'MsixRoute.mask', () => r.mask())) this.rMasked[v] = YES;
    if (!this.enable) {
      if (this.rHasMsi[v] !== NO && this.call(v, 'MsixRoute.clearMsi', () => r.clearMsi())) this.rHasMsi[v] = NO;
      return;
    }
    if (preload && !unmasked && this.rMasked[v] === YES && lo >>> 20 === 0xfee) {
      const m = this.rMsi;
      const i = v * 3;
      if (this.rHasMsi[v] === YES && m[i] === lo && m[i + 1] === hi && m[i + 2] === data) return;
      try {
        r.setMsi(lo, hi, data);
        this.rHasMsi[v] = YES;
        m[i] = lo;
        m[i + 1] = hi;
        m[i + 2] = data;
      } catch {
        // Checked again, and reported, when the guest unmasks the vector.
      }
    }
  }

  /** Programs and unmasks `r`; false (reported) when the route refuses, e.g. INVALID_MSI. */
  private arm(v: number, r: MsixRoute, lo: number, hi: number, data: number): boolean {
    const m = this.rMsi;
    const i = v * 3;
    try {
      if (this.pending[v] === 1) {
        if (this.rMasked[v] !== YES) {
          r.mask();
          this.rMasked[v] = YES;
        }
        r.signal();
        this.pending[v] = 0;
      }
      if (this.rHasMsi[v] !== YES || m[i] !== lo || m[i + 1] !== hi || m[i + 2] !== data) {
        r.setMsi(lo, hi, data);
        this.rHasMsi[v] = YES;
        m[i] = lo;
        m[i + 1] = hi;
        m[i + 2] = data;
      }
      if (this.rMasked[v] !== NO) {
        r.unmask();
        this.rMasked[v] = NO;
      }
      this.open[v] = 1;
      return true;
    } catch (e) {
      this.report(e, v, 'MsixRoute (arming)');
      return false;
    }
  }

  /** Whether a route-less vector may inject this message under the policy. */
  private acceptable(lo: number, hi: number, data: number): boolean {
    try {
      validateMsi('MsixEmulator', { addressLo: lo, addressHi: hi, data }, this.policy);
      return true;
    } catch {
      return false;
    }
  }

  private injectNow(v: number): void {
    const b = v * 4;
    const w = this.words;
    this.inject!(w[b]!, w[b + 1]!, w[b + 2]!);
  }

  /**
   * Runs a bulk transition inside the backend's batch. If the commit fails, the backend has rolled
   * every route of the batch back, so the emulator no longer knows which calls stuck: it marks the
   * routes unknown and re-drives all of them once, in a new batch. If that fails too, the routes
   * stay unknown (not delivering, not asked by PBA reads) until `resync()`.
   */
  private bulk(fn: () => void): void {
    const routes = this.routes;
    if (routes === undefined || this.batch === noBatch) {
      fn();
      return;
    }
    try {
      this.batch(fn);
      return;
    } catch (e) {
      this.report(e, -1, 'MsixBatch');
    }
    this.rMasked.fill(UNKNOWN);
    this.rHasMsi.fill(UNKNOWN);
    try {
      this.batch(() => {
        for (let v = 0; v < this.vectors; v++) this.sync(v, true);
      });
    } catch (e) {
      this.report(e, -1, 'MsixBatch (retry)');
      this.rMasked.fill(UNKNOWN);
      this.rHasMsi.fill(UNKNOWN);
      for (let v = 0; v < this.vectors; v++) if (routes[v] !== undefined) this.open[v] = 0;
    }
  }

  private call(v: number, operation: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.report(e, v, operation);
      return false;
    }
  }

  private report(e: unknown, vector: number, operation: string): void {
    const err =
      e instanceof Error ? e : new VirtError('INTERNAL', { operation, detail: `a route threw a non-Error value: ${String(e)}` });
    this.errors++;
    this.lastErr = err;
    if (this.onError !== undefined) {
      try {
        this.onError(err, vector, operation);
      } catch {
        // The handler's own failure must not reach the guest path either.
      }
    }
  }

  private checkVector(operation: string, vector: number): void {
    if (!(Number.isInteger(vector) && vector >= 0 && vector < this.vectors)) {
      throw invalidArgument(operation, `vector must be an integer from 0 to ${this.vectors - 1}, got ${String(vector)}`);
    }
  }
}

function checkNextPointer(operation: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw invalidArgument(operation, `nextPointer must be a config-space offset from 0 to 0xFF, got ${String(value)}`);
  }
  return value;
}
