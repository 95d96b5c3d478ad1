/**
 * An in-process model of one vCPU's local APIC, as far as message delivery goes: IRR, ISR and
 * TMR as 256-bit sets, the software-enable bit, and counters for the non-vectored modes.
 */
import type { LocalApicState } from '../contract/partition';
import { invalidArgument } from '../errors';
import { checkInteger, describeValue } from '../validate';

/**
 * One vCPU's local APIC as a test model: accepts vectored messages into IRR (recording level or
 * edge in TMR), refuses them while software-disabled, and counts NMI, SMI, INIT and ExtINT.
 * Nothing moves from IRR to ISR by itself: there is no guest; {@link eoi} stands for a guest that
 * takes a vector and acknowledges it.
 */
export class LocalApicModel {
  /** The APIC ID, 0 to 0xFFFFFFFF (above 0xFF only with x2APIC). */
  readonly apicId: number;
  /** Interrupt-request register: 256 bits, vector v at word v >>> 5, bit v & 31. */
  readonly irr = new Uint32Array(8);
  /** In-service register, same layout as `irr`; the model never sets it. */
  readonly isr = new Uint32Array(8);
  /** Trigger-mode register, same layout: bit set when the vector's last accepted message was level-triggered. */
  readonly tmr = new Uint32Array(8);
  /** Spurious-interrupt vector register bit 8: while false, vectored messages are refused. Default true. */
  softwareEnabled = true;
  /** Vectored messages accepted (each one, including those coalesced into an IRR bit already set). */
  accepted = 0;
  /** Accepted messages whose IRR bit was already set (edge coalescing). */
  coalesced = 0;
  /** NMI messages delivered. */
  nmi = 0;
  /** SMI messages delivered. */
  smi = 0;
  /** INIT messages delivered. */
  init = 0;
  /** ExtINT messages delivered. */
  extint = 0;

  /** `apicId`: an integer from 0 to 0xFFFFFFFF (INVALID_ARGUMENT otherwise). */
  constructor(apicId: number) {
    this.apicId = checkInteger('LocalApicModel', 'apicId', apicId, 0, 0xffffffff);
  }

  /**
   * A fixed or lowest-priority message. False when the APIC is software-disabled (the guest
   * blocked it). INVALID_ARGUMENT for a vector outside 0-255.
   */
  acceptVector(vector: number, level: boolean): boolean {
    checkInteger('LocalApicModel.acceptVector', 'vector', vector, 0, 255);
    if (!this.softwareEnabled) return false;
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    if (this.irr[w]! & bit) this.coalesced++;
    this.irr[w] = (this.irr[w]! | bit) >>> 0;
    this.tmr[w] = level ? (this.tmr[w]! | bit) >>> 0 : (this.tmr[w]! & ~bit) >>> 0;
    this.accepted++;
    return true;
  }

  /** A snapshot, as `readLocalApic` returns it: APIC ID, IRR and ISR vectors ascending, software enable. */
  state(): LocalApicState {
    return { apicId: this.apicId, irr: bitsToVectors(this.irr), isr: bitsToVectors(this.isr), softwareEnabled: this.softwareEnabled };
  }

  /** Vectors whose TMR bit is set (last accepted level-triggered), ascending. */
  tmrVectors(): number[] {
    return bitsToVectors(this.tmr);
  }

  /**
   * A guest taking `vector` and writing EOI for it: its IRR and ISR bits are cleared. Returns the
   * vector's trigger mode from TMR (`level` means the EOI is broadcast to the IOAPIC, as
   * `kvm_ioapic_send_eoi` does), or undefined when the vector was neither requested nor in service
   * (a spurious EOI changes nothing). INVALID_ARGUMENT for a vector outside 0-255.
   */
  eoi(vector: number): 'level' | 'edge' | undefined {
    checkInteger('LocalApicModel.eoi', 'vector', vector, 0, 255);
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    if (!(this.irr[w]! & bit) && !(this.isr[w]! & bit)) return undefined;
    this.irr[w] = (this.irr[w]! & ~bit) >>> 0;
    this.isr[w] = (this.isr[w]! & ~bit) >>> 0;
    return this.tmr[w]! & bit ? 'level' : 'edge';
  }

  /** Clears every IRR bit (TMR and the counters stay). */
  clearIrr(): void {
    this.irr.fill(0);
  }

  /**
   * Takes `from`'s state: IRR, ISR and TMR, the software-enable bit and every counter; the APIC ID
   * stays this APIC's own. For a model that rebuilds its APICs (a new vCPU, a new bus) without
   * losing what the existing ones hold. Copies, never shares: the two APICs change independently
   * afterwards. INVALID_ARGUMENT when `from` is not a LocalApicModel.
   */
  copyStateFrom(from: LocalApicModel): void {
    if (!(from instanceof LocalApicModel)) throw invalidArgument('LocalApicModel.copyStateFrom', `from must be a LocalApicModel, got ${describeValue(from)}`);
    this.irr.set(from.irr);
    this.isr.set(from.isr);
    this.tmr.set(from.tmr);
    this.softwareEnabled = from.softwareEnabled;
    this.accepted = from.accepted;
    this.coalesced = from.coalesced;
    this.nmi = from.nmi;
    this.smi = from.smi;
    this.init = from.init;
    this.extint = from.extint;
  }
}

function bitsToVectors(words: Uint32Array): number[] {
  const out: number[] = [];
  for (let w = 0; w < 8; w++) {
    let v = words[w]!;
    while (v !== 0) {
      const b = 31 - Math.clz32(v & -v);
      out.push(w * 32 + b);
      v = (v & ~(1 << b)) >>> 0;
    }
  }
  return out;
}
