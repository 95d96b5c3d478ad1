/**
 * An in-process model of the IOAPIC's level-triggered path, shared by the software backend and by
 * the KVM kernel model, so both deliver, latch and acknowledge a level interrupt the same way.
 *
 * Written from the kernel's in-kernel IOAPIC (`arch/x86/kvm/ioapic.c`: `kvm_ioapic_set_irq`,
 * `ioapic_set_irq`, `ioapic_service`, `ioapic_write_indirect`, `kvm_ioapic_update_eoi_one`,
 * `kvm_get_ioapic`, `kvm_set_ioapic`) and the 82093AA datasheet: 24 pins, each with a redirection
 * entry (vector, delivery mode, destination mode and ID, trigger mode, mask, remote IRR), a request
 * bit (`irr`) and a line level that is the OR of its sources (KVM's per-source `irq_states`).
 * Delivery goes through an {@link ApicBus} into the {@link LocalApicModel}s (IRR, and TMR for
 * level). Not modelled: the PIC, directed EOI (x2APIC SPIV bit 12), the RTC's EOI tracking, and the
 * delayed re-injection KVM applies after 10000 successive level EOIs of one pin (an interrupt storm).
 */
import { invalidArgument } from '../errors';
import { IOAPIC_PINS, IOREDTBL, type IoApicPinState, type IoApicRedirection, type IoApicState, decodeRedirection, encodeRedirection } from '../contract/level';
import { checkFunction, checkInteger, checkObject } from '../validate';
import type { ApicBus } from './apic-bus';
import type { LocalApicModel } from './local-apic-model';

/** What the IOAPIC tells its owner (KVM: the irq ack notifiers and the irqfd resamplers). */
export interface IoApicModelHooks {
  /**
   * The guest acknowledged pin `pin` (EOI of its vector): `kvm_notify_acked_irq`. A resample irqfd
   * deasserts its source and signals its resample events here (`irqfd_resampler_ack`).
   */
  acked(pin: number): void;
  /**
   * The guest unmasked level pin `pin` with a latched request and no remote IRR: true when a
   * resampler took it (its resample events were signalled; the request is dropped and the device
   * re-asserts if it still needs service), false to deliver instead (`kvm_notify_irqfd_resampler`).
   */
  notifyResampler(pin: number): boolean;
}

/** `struct kvm_ioapic_state` as the model holds it: the 24 redirection registers and the request bits. */
export interface IoApicRegisters {
  /** Bits 31:0 of each redirection register, pin order. */
  readonly lo: readonly number[];
  /** Bits 63:32 of each redirection register, pin order. */
  readonly hi: readonly number[];
  /** The request bits, pin i at bit i (`irr`; edge requests already delivered read as 0, as `kvm_get_ioapic` does). */
  readonly irr: number;
}

/**
 * The IOAPIC: pins start masked (`kvm_ioapic_reset`), lines low. {@link setIrq} is a source
 * raising or lowering its line, {@link writeRedirection} a guest write, {@link eoi} the EOI the
 * local APIC broadcasts for a level-triggered vector, {@link getState}/{@link setState} the
 * KVM_GET_IRQCHIP / KVM_SET_IRQCHIP view.
 */
export class IoApicModel {
  private readonly lo = new Uint32Array(IOAPIC_PINS).fill(IOREDTBL.MASKED);
  private readonly hi = new Uint32Array(IOAPIC_PINS);
  /** Sources asserting each pin's line, a bit per source id. */
  private readonly sources = new Uint32Array(IOAPIC_PINS);
  private irr = 0;
  private irrDelivered = 0;
  /** Messages each pin delivered (accepted by at least one local APIC). */
  readonly delivered = new Uint32Array(IOAPIC_PINS);

  /** `bus` is where interrupts land; `hooks` are told of acknowledgements. INVALID_ARGUMENT otherwise. */
  constructor(
    private readonly bus: ApicBus,
    private readonly hooks: IoApicModelHooks,
  ) {
    checkObject('IoApicModel', 'bus', bus);
    const h = checkObject<Partial<IoApicModelHooks>>('IoApicModel', 'hooks', hooks);
    checkFunction('IoApicModel', 'hooks.acked', h.acked);
    checkFunction('IoApicModel', 'hooks.notifyResampler', h.notifyResampler);
  }

  /**
   * Source `source` (0-31) raises (`level` true) or lowers its line on pin `pin`
   * (`kvm_ioapic_set_irq`): the pin's line is the OR of its sources. Returns what `ioapic_set_irq`
   * does: 1 when the line went low or a message was delivered, 0 when coalesced or refused, -1
   * when masked or waiting for an EOI (remote IRR).
   */
  setIrq(pin: number, source: number, level: boolean): number {
    const p = checkInteger('IoApicModel.setIrq', 'pin', pin, 0, IOAPIC_PINS - 1);
    const bit = 1 << checkInteger('IoApicModel.setIrq', 'source', source, 0, 31);
    this.sources[p] = level ? (this.sources[p]! | bit) >>> 0 : (this.sources[p]! & ~bit) >>> 0;
    return this.setLine(p, this.sources[p] !== 0);
  }

  /** Whether source `source` asserts pin `pin` now. */
  sourceAsserts(pin: number, source: number): boolean {
    return ((this.sources[pin] ?? 0) & (1 << source)) !== 0;
  }

  /** The pin as a diagnostic read shows it. */
  pin(pin: number): IoApicPinState {
    const p = checkInteger('IoApicModel.pin', 'pin', pin, 0, IOAPIC_PINS - 1);
    return decodeRedirection(this.lo[p]!, this.hi[p]!, ((this.irr & ~this.irrDelivered) & (1 << p)) !== 0);
  }

  /** Every pin, as {@link pin} shows it. */
  state(): IoApicState {
    return Object.freeze({ pins: Object.freeze(Array.from({ length: IOAPIC_PINS }, (_, i) => this.pin(i))) });
  }

  /**
   * A guest programming pin `pin` (`ioapic_write_indirect`, high register then low, as Linux's
   * `__ioapic_write_entry` does): remote IRR and delivery status are kept (cleared for an edge
   * pin); unmasking a level pin with a request and no remote IRR lets a resampler take it, else
   * delivers it. INVALID_ARGUMENT for a bad pin or entry, before anything changes.
   */
  writeRedirection(pin: number, entry: IoApicRedirection): void {
    const op = 'IoApicModel.writeRedirection';
    const p = checkInteger(op, 'pin', pin, 0, IOAPIC_PINS - 1);
    const { lo, hi } = encodeRedirection(op, entry);
    this.writeRegister(p, true, hi);
    this.writeRegister(p, false, lo);
  }

  /** One 32-bit guest write of pin `pin`'s redirection register: the high half (bits 63:32) or the low half. */
  writeRegister(pin: number, high: boolean, value: number): void {
    const p = checkInteger('IoApicModel.writeRegister', 'pin', pin, 0, IOAPIC_PINS - 1);
    const v = checkInteger('IoApicModel.writeRegister', 'value', value, 0, 0xffffffff);
    const keep = this.lo[p]! & (IOREDTBL.REMOTE_IRR | IOREDTBL.DELIVERY_STATUS);
    if (high) this.hi[p] = v;
    else this.lo[p] = ((v & ~(IOREDTBL.REMOTE_IRR | IOREDTBL.DELIVERY_STATUS)) | keep) >>> 0;
    // Linux and Xen expect an entry switched to edge to drop remote IRR (ioapic_write_indirect).
    if (!this.level(p)) this.lo[p] = (this.lo[p]! & ~IOREDTBL.REMOTE_IRR) >>> 0;
    const e = this.lo[p]!;
    if (this.level(p) && this.irr & (1 << p) && !(e & IOREDTBL.MASKED) && !(e & IOREDTBL.REMOTE_IRR)) {
      if (this.hooks.notifyResampler(p)) this.irr = (this.irr & ~(1 << p)) >>> 0;
      else this.service(p);
    }
  }

  /**
   * The EOI a local APIC broadcasts for a level-triggered `vector` (`kvm_ioapic_update_eoi`): each
   * pin that delivers `vector` is acknowledged (hooks `acked`), its remote IRR cleared, and
   * delivered again while its line is still asserted and it is unmasked. `level` false (an edge
   * vector) only acknowledges.
   */
  eoi(vector: number, level: boolean): void {
    checkInteger('IoApicModel.eoi', 'vector', vector, 0, 255);
    for (let p = 0; p < IOAPIC_PINS; p++) {
      if ((this.lo[p]! & IOREDTBL.VECTOR_MASK) !== vector) continue;
      this.hooks.acked(p);
      if (!level) continue;
      this.lo[p] = (this.lo[p]! & ~IOREDTBL.REMOTE_IRR) >>> 0;
      if (!(this.lo[p]! & IOREDTBL.MASKED) && this.irr & (1 << p)) this.service(p);
    }
  }

  /**
   * The guest's EOI of `vector` on `apic` as the model runs it: the local APIC takes the vector
   * (IRR to ISR) and EOIs it ({@link LocalApicModel.eoi}), then a level-triggered vector's EOI
   * reaches this IOAPIC ({@link eoi}). False when the vector was neither requested nor in service.
   */
  guestEoi(apic: LocalApicModel, vector: number): boolean {
    const trigger = apic.eoi(vector);
    if (trigger === undefined) return false;
    this.eoi(vector, trigger === 'level');
    return true;
  }

  /** KVM_GET_IRQCHIP's view (`kvm_get_ioapic`). */
  getState(): IoApicRegisters {
    return Object.freeze({ lo: [...this.lo], hi: [...this.hi], irr: (this.irr & ~this.irrDelivered) >>> 0 });
  }

  /**
   * KVM_SET_IRQCHIP's effect (`kvm_set_ioapic`): the registers are taken as given (remote IRR
   * included), the request bits cleared, then every pin whose bit `state.irr` sets is raised again
   * (`kvm_ioapic_inject_all`): a pin that may deliver does. INVALID_ARGUMENT for a malformed state.
   */
  setState(state: IoApicRegisters): void {
    const op = 'IoApicModel.setState';
    const s = checkObject<Partial<IoApicRegisters>>(op, 'state', state);
    if (!Array.isArray(s.lo) || !Array.isArray(s.hi) || s.lo.length !== IOAPIC_PINS || s.hi.length !== IOAPIC_PINS) throw invalidArgument(op, 'state.lo and state.hi must list 24 registers each');
    const lo = s.lo.map((v, i) => checkInteger(op, `lo[${i}]`, v, 0, 0xffffffff));
    const hi = s.hi.map((v, i) => checkInteger(op, `hi[${i}]`, v, 0, 0xffffffff));
    const irr = checkInteger(op, 'irr', s.irr, 0, 0xffffff);
    this.lo.set(lo);
    this.hi.set(hi);
    this.irr = 0;
    this.irrDelivered = 0;
    for (let p = 0; p < IOAPIC_PINS; p++) if (irr & (1 << p)) this.setLine(p, true);
  }

  private level(p: number): boolean {
    return (this.lo[p]! & IOREDTBL.TRIGGER_LEVEL) !== 0;
  }

  /** `ioapic_set_irq`. */
  private setLine(p: number, high: boolean): number {
    const bit = 1 << p;
    if (!high) {
      this.irr = (this.irr & ~bit) >>> 0;
      return 1;
    }
    const old = this.irr;
    this.irr = (this.irr | bit) >>> 0;
    if (!this.level(p)) {
      this.irrDelivered = (this.irrDelivered & ~bit) >>> 0;
      if (old === this.irr) return 0;
    }
    return this.service(p);
  }

  /** `ioapic_service`: delivers pin `p` unless masked or (level) waiting for its EOI; a level delivery sets remote IRR. */
  private service(p: number): number {
    const e = this.lo[p]!;
    const level = this.level(p);
    if (e & IOREDTBL.MASKED || (level && e & IOREDTBL.REMOTE_IRR)) return -1;
    if (!level) this.irrDelivered = (this.irrDelivered | (1 << p)) >>> 0;
    const dest = this.hi[p]! >>> IOREDTBL.DEST_SHIFT_HI;
    const address = (0xfee00000 | (dest << 12) | (e & IOREDTBL.DEST_MODE_LOGICAL ? 4 : 0)) >>> 0;
    const data = (e & IOREDTBL.VECTOR_MASK) | (((e >>> IOREDTBL.DELIVERY_MODE_SHIFT) & 7) << 8) | (level ? 0xc000 : 0);
    const ok = this.bus.deliver(address, 0, data);
    if (ok) this.delivered[p]!++;
    if (ok && level) this.lo[p] = (this.lo[p]! | IOREDTBL.REMOTE_IRR) >>> 0;
    return ok ? 1 : 0;
  }
}
