/**
 * A small executable model of MSI-X, written from the MSI-X interface page (docs/interfaces/pci-msix.md) and the
 * access rules the README documents, not from the emulator: plain objects, byte-at-a-time
 * accesses, and one rule per spec sentence. The property test runs the same operations on both and
 * compares everything the guest and the device can observe.
 *
 * Spec rules modelled:
 * - capability: ID 0x11, next pointer, Table Size = N-1, Function Mask (bit 14) and Enable (bit 15)
 *   RW, Table/PBA BIR+offset RO; config writes of 1-4 bytes only change byte 3 bits 7:6.
 * - table: 16 bytes per vector, address low bits 1:0 read 0, vector control bit 0 = mask (reset 1),
 *   other control bits read 0. PBA: ceil(N/64) QWORDs, read-only, bits past N read 0.
 * - a vector sends only when Enable = 1, Function Mask = 0, its mask = 0 (and, documented: its
 *   message is a valid MSI that can be delivered); otherwise an event sets its pending bit; when it
 *   becomes able to send with its pending bit set, it sends once and clears the bit.
 * - reset: Enable 0, Function Mask 0, all masked, no pending bits, address/data 0.
 * Documented access rules modelled: any access is split into the bytes that fall in the table or
 * PBA; a table write updates each entry it covers at once (bytes merged into its DWORDs); a write of
 * exactly one address DWORD of an unmasked vector is staged (the vector keeps sending with the old
 * address) until the other address DWORD is written, or the data / control is written, or any
 * other operation on the emulator happens.
 */
import { type MsiPolicy, validateMsi } from '@tsvmm/virt';
import type { Delivery } from './fake-routes';

export interface ModelLayout {
  readonly vectors: number;
  readonly tBar: number;
  readonly tOff: number;
  readonly pBar: number;
  readonly pOff: number;
  readonly nextPointer: number;
}

interface Entry {
  lo: number;
  hi: number;
  data: number;
  masked: boolean;
}

interface Staged {
  readonly vector: number;
  readonly halves: Set<'lo' | 'hi'>;
  readonly oldLo: number;
  readonly oldHi: number;
}

export class MsixModel {
  entries: Entry[] = [];
  pending: boolean[] = [];
  enable = false;
  functionMask = false;
  staged: Staged | null = null;
  /** Whether vectors deliver through their routes (else through requestMsi). */
  routed: boolean[];
  /** Complete addresses each vector has had (for "never a half-updated route"). */
  readonly completeAddresses: Set<string>[] = [];
  delivered: Delivery[] = [];

  constructor(
    readonly layout: ModelLayout,
    readonly policy: MsiPolicy,
    readonly hasRoute: (v: number) => boolean,
  ) {
    this.routed = [];
    for (let v = 0; v < layout.vectors; v++) {
      this.routed.push(hasRoute(v));
      this.completeAddresses.push(new Set(['0:0']));
    }
    this.reset();
  }

  get tableSize(): number {
    return this.layout.vectors * 16;
  }

  get pbaSize(): number {
    return Math.ceil(this.layout.vectors / 64) * 8;
  }

  reset(): void {
    this.enable = false;
    this.functionMask = false;
    this.staged = null;
    this.entries = [];
    this.pending = [];
    for (let v = 0; v < this.layout.vectors; v++) {
      this.entries.push({ lo: 0, hi: 0, data: 0, masked: true });
      this.pending.push(false);
    }
  }

  // ------------------------------------------------------------ what the spec calls "masked"

  unmasked(v: number): boolean {
    return this.enable && !this.functionMask && !this.entries[v]!.masked;
  }

  /** The message the vector sends now: the staged entry keeps its old address. */
  message(v: number): { lo: number; hi: number; data: number } {
    const e = this.entries[v]!;
    if (this.staged?.vector === v) return { lo: this.staged.oldLo, hi: this.staged.oldHi, data: e.data };
    return { lo: e.lo, hi: e.hi, data: e.data };
  }

  private readonly validity = new Map<string, boolean>();

  valid(v: number): boolean {
    const m = this.message(v);
    const key = `${m.lo},${m.hi},${m.data}`;
    let ok = this.validity.get(key);
    if (ok === undefined) {
      try {
        validateMsi('model', { addressLo: m.lo, addressHi: m.hi, data: m.data }, this.policy);
        ok = true;
      } catch {
        ok = false;
      }
      this.validity.set(key, ok);
    }
    return ok;
  }

  /** Able to send right now. */
  sends(v: number): boolean {
    return this.unmasked(v) && this.valid(v);
  }

  private send(v: number): void {
    const m = this.message(v);
    this.delivered.push(
      this.routed[v] ? { via: 'route', vector: v, lo: m.lo, hi: m.hi, data: m.data } : { via: 'inject', vector: -1, lo: m.lo, hi: m.hi, data: m.data },
    );
  }

  /** "When a vector becomes unmasked and its pending bit is set, the function sends once." */
  private settle(only?: number): void {
    for (let v = only ?? 0; v < (only === undefined ? this.layout.vectors : only + 1); v++) {
      if (this.pending[v] && this.sends(v)) {
        this.pending[v] = false;
        this.send(v);
      }
    }
  }

  private noteComplete(v: number): void {
    const e = this.entries[v]!;
    this.completeAddresses[v]!.add(`${e.lo}:${e.hi}`);
  }

  /** Any operation other than a write confined to the staged entry completes it. */
  private complete(): void {
    if (this.staged === null) return;
    const v = this.staged.vector;
    this.staged = null;
    this.noteComplete(v);
    this.settle(v);
  }

  // ------------------------------------------------------------ BAR accesses

  private tableByte(rel: number): number {
    const e = this.entries[Math.floor(rel / 16)]!;
    const field = Math.floor((rel % 16) / 4);
    const word = field === 0 ? e.lo : field === 1 ? e.hi : field === 2 ? e.data : e.masked ? 1 : 0;
    return Math.floor(word / 2 ** (8 * (rel % 4))) % 256;
  }

  private pbaByte(rel: number): number {
    let b = 0;
    for (let bit = 0; bit < 8; bit++) {
      const v = rel * 8 + bit;
      if (v < this.layout.vectors && this.pending[v]) b += 2 ** bit;
    }
    return b;
  }

  private inTable(bar: number, a: number): boolean {
    return bar === this.layout.tBar && a >= this.layout.tOff && a < this.layout.tOff + this.tableSize;
  }

  private inPba(bar: number, a: number): boolean {
    return bar === this.layout.pBar && a >= this.layout.pOff && a < this.layout.pOff + this.pbaSize;
  }

  /** Bytes read; `undefined` where a byte is not the emulator's (left untouched). */
  read(bar: number, offset: number, length: number): (number | undefined)[] {
    const out: (number | undefined)[] = [];
    let mine = false;
    for (let i = 0; i < length; i++) mine ||= this.inTable(bar, offset + i) || this.inPba(bar, offset + i);
    if (!mine) return new Array<undefined>(length).fill(undefined);
    this.complete();
    for (let i = 0; i < length; i++) {
      const a = offset + i;
      if (this.inTable(bar, a)) out.push(this.tableByte(a - this.layout.tOff));
      else if (this.inPba(bar, a)) out.push(this.pbaByte(a - this.layout.pOff));
      else out.push(undefined);
    }
    return out;
  }

  write(bar: number, offset: number, bytes: readonly number[]): void {
    const perEntry = new Map<number, Map<number, number>>();
    let pba = false;
    for (let i = 0; i < bytes.length; i++) {
      const a = offset + i;
      if (this.inTable(bar, a)) {
        const rel = a - this.layout.tOff;
        const v = Math.floor(rel / 16);
        if (!perEntry.has(v)) perEntry.set(v, new Map());
        perEntry.get(v)!.set(rel % 16, bytes[i]!);
      } else if (this.inPba(bar, a)) {
        pba = true;
      }
    }
    if (perEntry.size === 0 && !pba) return;
    const confined = !pba && perEntry.size === 1 && this.staged !== null && perEntry.has(this.staged.vector);
    if (!confined) this.complete();
    for (const v of [...perEntry.keys()].sort((x, y) => x - y)) this.writeEntry(v, perEntry.get(v)!);
  }

  private writeEntry(v: number, bytes: Map<number, number>): void {
    const e = this.entries[v]!;
    const words = [e.lo, e.hi, e.data, e.masked ? 1 : 0];
    const touched = new Set<number>();
    for (const [pos, byte] of bytes) {
      const f = Math.floor(pos / 4);
      const shift = 2 ** (8 * (pos % 4));
      const old = Math.floor(words[f]! / shift) % 256;
      words[f] = words[f]! + (byte - old) * shift;
      touched.add(f);
    }
    const lo = words[0]! - (words[0]! % 4);
    const hi = words[1]!;
    const oneAddressHalf = touched.size === 1 && (touched.has(0) || touched.has(1));
    if (this.unmasked(v) && oneAddressHalf) {
      const half = touched.has(0) ? 'lo' : 'hi';
      if (this.staged === null) this.staged = { vector: v, halves: new Set([half]), oldLo: e.lo, oldHi: e.hi };
      else this.staged.halves.add(half);
      e.lo = lo;
      e.hi = hi;
      if (this.staged.halves.size === 2) this.complete();
      return;
    }
    if (this.staged?.vector === v) this.staged = null;
    e.lo = lo;
    e.hi = hi;
    e.data = words[2]!;
    e.masked = words[3]! % 2 === 1;
    this.noteComplete(v);
    this.settle(v);
  }

  // ------------------------------------------------------------ config space

  private capabilityBytes(): number[] {
    const n = this.layout.vectors - 1;
    const control = n + (this.functionMask ? 0x4000 : 0) + (this.enable ? 0x8000 : 0);
    const le = (x: number) => [x % 256, Math.floor(x / 256) % 256, Math.floor(x / 65536) % 256, Math.floor(x / 16777216) % 256];
    return [0x11, this.layout.nextPointer, control % 256, Math.floor(control / 256), ...le(this.layout.tOff + this.layout.tBar), ...le(this.layout.pOff + this.layout.pBar)];
  }

  configRead(offset: number, size: number): number {
    this.complete();
    if (![1, 2, 3, 4].includes(size)) return 0;
    const cap = this.capabilityBytes();
    let value = 0;
    for (let i = 0; i < size; i++) value += (cap[offset + i] ?? 0) * 2 ** (8 * i);
    return value;
  }

  configWrite(offset: number, size: number, value: number): void {
    this.complete();
    if (![1, 2, 3, 4].includes(size)) return;
    const i = 3 - offset;
    if (i < 0 || i >= size) return;
    const byte = Math.floor(value / 2 ** (8 * i)) % 256;
    this.enable = byte >= 0x80;
    this.functionMask = byte % 0x80 >= 0x40;
    this.settle();
  }

  // ------------------------------------------------------------ device side and VMM operations

  /** The emulator's `signal(v)`. */
  signal(v: number): void {
    if (!(Number.isInteger(v) && v >= 0 && v < this.layout.vectors)) return;
    this.complete();
    if (this.sends(v)) this.send(v);
    else this.pending[v] = true;
  }

  /** A device signalling the route's event directly (kernel path): the emulator does not see it. */
  deviceSignal(v: number): void {
    if (this.sends(v)) this.send(v);
    else this.pending[v] = true;
  }

  saveRestore(): void {
    this.complete();
  }

  setRouted(routed: boolean): void {
    this.complete();
    for (let v = 0; v < this.layout.vectors; v++) this.routed[v] = routed && this.hasRoute(v);
    this.settle();
  }

  resetFunction(): void {
    this.reset();
  }

  take(): Delivery[] {
    return this.delivered.splice(0);
  }
}
