/**
 * The MSI-X table and pending-bit array in their BARs (PCI Local Bus 3.0, section 6.8.2.6-6.8.2.10):
 * 16-byte entries (Message Address, Message Upper Address, Message Data, Vector Control) and one
 * pending bit per vector, accessed at any size, offset and alignment. An entry change is reported
 * to the route state machine in one call that carries everything it needs (the vector, whether it
 * is unmasked, MSI-X Enable and the message as 32-bit halves), so nothing calls back up to ask what
 * was written; a half-written address of an unmasked vector is staged until the entry is consistent.
 */
import type { MsixCapabilityRegisters } from './capability';
import type { MsixLayout } from './layout';

/** Which MSI-X structure a BAR offset belongs to: the vector `table` or the pending-bit array (`pba`). */
export type MsixRegion = 'table' | 'pba';

/** Bits of `touched` in {@link MsixTable.writeEntry}: which DWORDs of an entry a write covered. */
const T_LO = 1;
const T_HI = 2;
const T_DATA = 4;
const T_CTRL = 8;

/** Where the table reports entry changes and asks for pending bits: the route state machine (`MsixVectorRoutes`). */
export interface MsixTableSink {
  /**
   * Vector `v` must be driven to these registers: `unmasked` (Enable, Function Mask clear and its
   * Mask bit clear), `enabled` (MSI-X Enable) and the message `lo/hi/data` its route should carry.
   */
  sync(v: number, unmasked: boolean, enabled: boolean, lo: number, hi: number, data: number, preload: boolean): void;
  /** The pending bit of `v` as the guest sees it (may fold in what its route latched). */
  pendingBit(v: number): boolean;
}

export class MsixTable {
  /** 4 words per vector: address lo (bits 1:0 zero), address hi, data, vector control (bit 0). */
  readonly words: Uint32Array;

  /**
   * At most one entry can have a half-written address: the guest wrote one address DWORD of an
   * unmasked vector. Its route keeps the last complete message (`stagedLo/Hi`) until the entry is
   * consistent again; see {@link writeEntry}.
   */
  stagedVector = -1;
  private stagedLo = 0;
  private stagedHi = 0;
  private stagedHalves = 0;

  private readonly scratch = new Uint8Array(8);
  /** `scratch` as little-endian words: an access that is not one aligned table DWORD goes through its bytes. */
  private readonly scratchWords = new DataView(this.scratch.buffer);

  constructor(
    private readonly layout: MsixLayout,
    private readonly cap: MsixCapabilityRegisters,
    private readonly sink: MsixTableSink,
  ) {
    this.words = new Uint32Array(layout.vectors * 4);
    this.reset();
  }

  /** Every vector masked with address and data 0 (the reset state); nothing staged. */
  reset(): void {
    this.stagedVector = -1;
    this.words.fill(0);
    for (let v = 0; v < this.layout.vectors; v++) this.words[v * 4 + 3] = 1;
  }

  /** Whether vector `v` may send: the function is open and its Mask bit is clear. */
  unmasked(v: number): boolean {
    return this.cap.functionOpen && (this.words[v * 4 + 3]! & 1) === 0;
  }

  /** Ends a pending half-written address: the route gets the entry as the table shows it. */
  commitStaged(): void {
    const v = this.stagedVector;
    if (v < 0) return;
    this.stagedVector = -1;
    this.drive(v, false);
  }

  /**
   * Reports vector `v`'s registers to the sink (a staged entry keeps its last complete address);
   * `preload` as for `MsixVectorRoutes.sync` (bulk transitions only).
   */
  drive(v: number, preload: boolean): void {
    const w = this.words;
    const b = v * 4;
    const cap = this.cap;
    const staged = v === this.stagedVector;
    this.sink.sync(v, cap.functionOpen && (w[b + 3]! & 1) === 0, cap.enable, staged ? this.stagedLo : w[b]!, staged ? this.stagedHi : w[b + 1]!, w[b + 2]!, preload);
  }

  region(bar: number, offset: number): MsixRegion | undefined {
    if (!Number.isSafeInteger(offset)) return undefined;
    if (bar === this.layout.tableBir) {
      const rel = offset - this.layout.tableOffset;
      if (rel >= 0 && rel < this.layout.tableSize) return 'table';
    }
    if (bar === this.layout.pbaBir) {
      const rel = offset - this.layout.pbaOffset;
      if (rel >= 0 && rel < this.layout.pbaSize) return 'pba';
    }
    return undefined;
  }

  claims(bar: number, offset: number, length: number): boolean {
    if (typeof length !== 'number' || !(length > 0) || !Number.isSafeInteger(offset)) return false;
    const end = offset + length;
    return (
      (bar === this.layout.tableBir && offset < this.layout.tableOffset + this.layout.tableSize && end > this.layout.tableOffset) ||
      (bar === this.layout.pbaBir && offset < this.layout.pbaOffset + this.layout.pbaSize && end > this.layout.pbaOffset)
    );
  }

  read32(bar: number, offset: number): number {
    if (bar === this.layout.tableBir) {
      const rel = offset - this.layout.tableOffset;
      if ((rel >>> 0) === rel && rel < this.layout.tableSize && (rel & 3) === 0) {
        if (this.stagedVector >= 0) this.commitStaged();
        return this.words[rel >>> 2]!;
      }
    }
    const s = this.scratch;
    s.fill(0, 0, 4);
    this.readInto(bar, offset, 4, s);
    return this.scratchWords.getUint32(0, true);
  }

  /**
   * Where a write of one aligned piece of the table starts (the fast path of write32 and
   * write64Halves): its byte offset in the table when it lies in the table's BAR at an offset with
   * none of `alignMask`'s bits set (3: a DWORD, 7: a QWORD), else -1. A half-written address staged
   * for another vector is committed first: an access elsewhere ends the staging (README, "Access
   * rules"), while a write to the staged entry itself may complete it.
   */
  private alignedEntryWrite(bar: number, offset: number, alignMask: number): number {
    if (bar !== this.layout.tableBir) return -1;
    const rel = offset - this.layout.tableOffset;
    if (!((rel >>> 0) === rel && rel < this.layout.tableSize && (rel & alignMask) === 0)) return -1;
    if (this.stagedVector >= 0 && this.stagedVector !== rel >>> 4) this.commitStaged();
    return rel;
  }

  write32(bar: number, offset: number, value: number): void {
    const rel = this.alignedEntryWrite(bar, offset, 3);
    if (rel >= 0) {
      const v = rel >>> 4;
      const w = this.words;
      const b = v * 4;
      const field = (rel >>> 2) & 3;
      // The common case, programming a masked vector: the route is not involved.
      if (field !== 3 && (!this.cap.functionOpen || (w[b + 3]! & 1) === 1)) {
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
    this.scratchWords.setUint32(0, value, true);
    this.writeFrom(bar, offset, 4, this.scratch);
  }

  read64(bar: number, offset: number): bigint {
    const s = this.scratch;
    s.fill(0);
    this.readInto(bar, offset, 8, s);
    return this.scratchWords.getBigUint64(0, true);
  }

  write64Halves(bar: number, offset: number, lo: number, hi: number): void {
    const rel = this.alignedEntryWrite(bar, offset, 7);
    if (rel >= 0) {
      const v = rel >>> 4;
      const w = this.words;
      const b = v * 4;
      if (rel & 8) this.writeEntry(v, w[b]!, w[b + 1]!, lo, hi, T_DATA | T_CTRL);
      else this.writeEntry(v, lo, hi, w[b + 2]!, w[b + 3]!, T_LO | T_HI);
      return;
    }
    this.scratchWords.setUint32(0, lo, true);
    this.scratchWords.setUint32(4, hi, true);
    this.writeFrom(bar, offset, 8, this.scratch);
  }

  readInto(bar: number, offset: number, len: number, out: Uint8Array): boolean {
    if (!this.claims(bar, offset, len)) return false;
    if (this.stagedVector >= 0) this.commitStaged();
    if (bar === this.layout.tableBir) {
      const from = Math.max(offset, this.layout.tableOffset);
      const to = Math.min(offset + len, this.layout.tableOffset + this.layout.tableSize);
      const w = this.words;
      for (let a = from; a < to; a++) {
        const rel = a - this.layout.tableOffset;
        out[a - offset] = w[rel >>> 2]! >>> ((rel & 3) * 8);
      }
    }
    if (bar === this.layout.pbaBir) {
      const from = Math.max(offset, this.layout.pbaOffset);
      const to = Math.min(offset + len, this.layout.pbaOffset + this.layout.pbaSize);
      for (let a = from; a < to; a++) out[a - offset] = this.pbaByte(a - this.layout.pbaOffset);
    }
    return true;
  }

  writeFrom(bar: number, offset: number, len: number, data: Uint8Array): boolean {
    if (!this.claims(bar, offset, len)) return false;
    if (bar !== this.layout.tableBir) {
      if (this.stagedVector >= 0) this.commitStaged();
      return true; // PBA only: read-only, the write is dropped
    }
    const from = Math.max(offset, this.layout.tableOffset);
    const to = Math.min(offset + len, this.layout.tableOffset + this.layout.tableSize);
    const touchesPba = bar === this.layout.pbaBir && offset < this.layout.pbaOffset + this.layout.pbaSize && offset + len > this.layout.pbaOffset;
    if (from >= to) {
      if (this.stagedVector >= 0) this.commitStaged();
      return true;
    }
    const first = (from - this.layout.tableOffset) >>> 4;
    const last = (to - 1 - this.layout.tableOffset) >>> 4;
    if (this.stagedVector >= 0 && (touchesPba || first !== last || first !== this.stagedVector)) this.commitStaged();
    const w = this.words;
    for (let v = first; v <= last; v++) {
      const base = this.layout.tableOffset + v * 16;
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
    const unmaskedBefore = this.cap.functionOpen && (w[b + 3]! & 1) === 0;
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
    const unmaskedAfter = this.cap.functionOpen && (ctrl & 1) === 0;
    // The whole change in one report: the route state machine needs nothing else from the table.
    if (unmaskedBefore !== unmaskedAfter || (unmaskedAfter && (changed || wasStaged))) this.sink.sync(v, unmaskedAfter, this.cap.enable, newLo, newHi, w[b + 2]!, false);
  }

  /** One PBA byte: vectors 8*i .. 8*i+7 (bits beyond the last vector read 0). */
  private pbaByte(i: number): number {
    let byte = 0;
    const first = i * 8;
    const end = Math.min(first + 8, this.layout.vectors);
    for (let v = first; v < end; v++) if (this.sink.pendingBit(v)) byte |= 1 << (v - first);
    return byte;
  }
}
