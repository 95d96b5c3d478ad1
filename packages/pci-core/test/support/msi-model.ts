/**
 * An independent model of a plain MSI function (PCI Local Bus 3.0, section 6.8.1), written from
 * the spec's register tables rather than from the emulator, in plain arithmetic (no bit
 * operators): a byte image rebuilt from the fields on every read, and the interrupts the function
 * owes. After every step it says what a guest must read and which
 * messages must have reached the guest.
 */
import { type MsiPolicy, validateMsi } from '@tsvmm/virt';

export interface MsiModelLayout {
  readonly vectors: number;
  readonly address64: boolean;
  readonly perVectorMasking: boolean;
}

export interface ModelMessage {
  readonly lo: number;
  readonly hi: number;
  readonly data: number;
}

export class MsiModel {
  enable = false;
  mme = 0;
  lo = 0;
  hi = 0;
  data = 0;
  mask = 0;
  /** The message the function uses: the registers as of the last access that was not an address-only write. */
  live: ModelMessage = { lo: 0, hi: 0, data: 0 };
  staged = false;
  /** Interrupts owed per vector (raised, not yet sent). */
  owed: boolean[];
  /** Messages sent since the last `take()`. */
  sent: { vector: number; msg: ModelMessage }[] = [];
  readonly size: number;
  readonly mmc: number;
  readonly dataAt: number;
  readonly maskAt: number;

  constructor(
    readonly layout: MsiModelLayout,
    readonly policy: MsiPolicy,
    readonly nextPointer: number,
  ) {
    this.owed = new Array<boolean>(layout.vectors).fill(false);
    this.size = 10 + (layout.address64 ? 4 : 0) + (layout.perVectorMasking ? 10 : 0);
    this.mmc = [1, 2, 4, 8, 16, 32].indexOf(layout.vectors);
    this.dataAt = layout.address64 ? 12 : 8;
    this.maskAt = layout.perVectorMasking ? this.dataAt + 4 : -100;
  }

  get granted(): number {
    return 2 ** this.mme;
  }

  /** What vector v sends: Data with its low MME bits replaced by v. */
  messageOf(v: number, m: ModelMessage = this.live): ModelMessage {
    const n = this.granted;
    return { lo: m.lo, hi: m.hi, data: (m.data - (m.data % n) + (v % n)) % 0x10000 };
  }

  /** May vector v send now? Granted, Enable, not masked, and a message the policy accepts. */
  deliverable(v: number): boolean {
    if (!this.enable || v >= this.granted) return false;
    if (this.layout.perVectorMasking && Math.floor(this.mask / 2 ** v) % 2 === 1) return false;
    const m = this.messageOf(v);
    try {
      validateMsi('model', { addressLo: m.lo, addressHi: m.hi, data: m.data }, this.policy);
      return true;
    } catch {
      return false;
    }
  }

  /** The image byte at `i`, from the spec's tables. */
  byte(i: number): number {
    if (i < 0 || i >= this.size) return 0;
    const fields: Record<number, number> = {};
    const put = (at: number, value: number, bytes: number) => {
      for (let k = 0; k < bytes; k++) fields[at + k] = Math.floor(value / 256 ** k) % 256;
    };
    const control = (this.enable ? 1 : 0) + this.mmc * 2 + this.mme * 16 + (this.layout.address64 ? 0x80 : 0) + (this.layout.perVectorMasking ? 0x100 : 0);
    put(0, 0x05, 1);
    put(1, this.nextPointer, 1);
    put(2, control, 2);
    put(4, this.lo, 4);
    if (this.layout.address64) put(8, this.hi, 4);
    put(this.dataAt, this.data, 2);
    if (this.layout.perVectorMasking) {
      put(this.maskAt, this.mask, 4);
      let pending = 0;
      for (let v = 0; v < this.granted; v++) if (this.owed[v]) pending += 2 ** v;
      put(this.maskAt + 4, pending, 4);
    }
    return fields[i] ?? 0;
  }

  read(offset: number, size: number): number {
    if (!Number.isInteger(offset) || !(size >= 1 && size <= 4 && Number.isInteger(size))) return 0;
    let v = 0;
    for (let k = 0; k < size; k++) v += this.byte(offset + k) * 256 ** k;
    return v;
  }

  /** A config write of `size` bytes of the unsigned `value` (already normalised). */
  write(offset: number, size: number, value: number): void {
    if (!Number.isInteger(offset) || !(size >= 1 && size <= 4 && Number.isInteger(size))) {
      this.commit();
      return;
    }
    const wasGranted = this.granted;
    let address = false;
    let other = false;
    const setByte = (field: number, index: number, b: number) => {
      const old = Math.floor(field / 256 ** index) % 256;
      return field + (b - old) * 256 ** index;
    };
    for (let k = 0; k < size; k++) {
      const at = offset + k;
      const b = Math.floor(value / 256 ** k) % 256;
      if (at === 2) {
        this.enable = b % 2 === 1;
        this.mme = Math.min(Math.floor(b / 16) % 8, this.mmc);
        other = true;
      } else if (at >= 4 && at < 8) {
        this.lo = setByte(this.lo, at - 4, at === 4 ? b - (b % 4) : b);
        address = true;
      } else if (this.layout.address64 && at >= 8 && at < 12) {
        this.hi = setByte(this.hi, at - 8, b);
        address = true;
      } else if (at >= this.dataAt && at < this.dataAt + 2) {
        this.data = setByte(this.data, at - this.dataAt, b);
        other = true;
      } else if (at >= this.maskAt && at < this.maskAt + 4) {
        const bitsHere = this.layout.vectors >= 8 * (at - this.maskAt + 1) ? 0xff : Math.max(0, 2 ** Math.max(0, this.layout.vectors - 8 * (at - this.maskAt)) - 1);
        this.mask = setByte(this.mask, at - this.maskAt, b % (bitsHere + 1));
        other = true;
      }
    }
    if (!other) {
      if (address) this.staged = true;
      else this.commit();
      return;
    }
    this.live = { lo: this.lo, hi: this.hi, data: this.data };
    this.staged = false;
    for (let v = 0; v < this.layout.vectors; v++) if (v < wasGranted !== v < this.granted) this.owed[v] = false;
    this.flush();
  }

  commit(): void {
    if (!this.staged) return;
    this.staged = false;
    this.live = { lo: this.lo, hi: this.hi, data: this.data };
    this.flush();
  }

  /** The device raises v, on either path. `user` (the emulator's signal) ends a staged rewrite first. */
  raise(v: number, user: boolean): boolean {
    if (v >= this.granted) return false;
    if (user) this.commit();
    if (this.deliverable(v)) {
      this.sent.push({ vector: v, msg: this.messageOf(v) });
      return true;
    }
    this.owed[v] = true;
    return false;
  }

  /** Every owed interrupt of a vector that may now send is sent, once. */
  flush(): void {
    for (let v = 0; v < this.layout.vectors; v++) {
      if (this.owed[v] && this.deliverable(v)) {
        this.owed[v] = false;
        this.sent.push({ vector: v, msg: this.messageOf(v) });
      }
    }
  }

  reset(): void {
    this.enable = false;
    this.mme = 0;
    this.lo = this.hi = this.data = this.mask = 0;
    this.live = { lo: 0, hi: 0, data: 0 };
    this.staged = false;
    this.owed.fill(false);
  }

  take(): { vector: number; msg: ModelMessage }[] {
    return this.sent.splice(0);
  }
}
