/**
 * The guest's end of one INTx line, played through the partition as a guest's kernel would play
 * it: the IOAPIC pin's redirection entry is programmed (level, unmasked, a vector, one
 * destination), an interrupt is seen in the destination vCPU's local APIC (IRR, with TMR for a
 * level vector), and the guest's EOI of the vector goes through the partition's `GuestEoiAccess`
 * (`KvmPartition.guestEoi()`), which only a partition on the KVM model offers (no guest code runs
 * on a real KVM here: `eoiAbsence` then says so).
 */
import type { GuestEoiAccess, IoApicAccess, IoApicPinState, LocalApicAccess, Partition } from '@tsvmm/virt';

/** The partition as these bodies use it. */
export type GuestVm = Partition & LocalApicAccess & IoApicAccess;

/** What the target knows how to do beyond the partition's own calls. */
export interface IntxGuestHooks {
  /** The partition's guest EOI (`KvmPartition.guestEoi()`: on the model only), or undefined where no guest code can run. */
  readonly eoi: GuestEoiAccess | undefined;
  /** Why there is no EOI here, for the loud skip; undefined where `eoi` is given. */
  readonly eoiAbsence: string | undefined;
  /** Interrupts accepted by the local APIC of `vcpu` so far (model only). */
  readonly accepted: ((vcpu: number) => number) | undefined;
  /** Moves what one side of the process signalled to the other (the model bridge's pump); a no-op on real kernels. */
  readonly pump: () => void;
}

/** One INTx line as the guest sees it: IOAPIC pin `gsi`, delivered as `vector` to vCPU `vcpu` (APIC ID `vcpu`). */
export class IntxGuest {
  constructor(
    private readonly vm: GuestVm,
    private readonly hooks: IntxGuestHooks,
    readonly gsi: number,
    readonly vector = 0x61,
    readonly vcpu = 1,
  ) {}

  /** The guest programs the pin: level-triggered, unmasked, fixed delivery, physical destination. */
  program(): this {
    this.vm.writeRedirection(this.gsi, { vector: this.vector, deliveryMode: 'fixed', destinationMode: 'physical', destination: this.vcpu, trigger: 'level', masked: false });
    return this;
  }

  /** The pin now, after the process's pending signals were moved. */
  pin(): IoApicPinState {
    this.hooks.pump();
    return this.vm.readIoApic().pins[this.gsi]!;
  }

  /** The line is asserted at the IOAPIC (the resample irqfd holds it from a signal until the EOI). */
  get line(): boolean {
    return this.pin().asserted;
  }

  /** Remote IRR: an interrupt of the pin was delivered and not yet EOI'd. */
  get remoteIrr(): boolean {
    return this.pin().remoteIrr;
  }

  /** The vector is requested in the destination's IRR, with its TMR bit (level). */
  get delivered(): boolean {
    this.hooks.pump();
    const s = this.vm.readLocalApic(this.vcpu);
    return s.irr.includes(this.vector) && (s.tmr ?? []).includes(this.vector);
  }

  /** Interrupts the destination's local APIC accepted (model only; the INTx bodies raise nothing else there). */
  get deliveries(): number {
    const a = this.hooks.accepted;
    if (!a) throw new Error(`local APIC acceptance counts are not readable here: ${this.hooks.eoiAbsence ?? 'no model'}`);
    this.hooks.pump();
    return a(this.vcpu);
  }

  /** Whether the guest's EOI can be played here. */
  get canEoi(): boolean {
    return this.hooks.eoi !== undefined;
  }

  /**
   * The guest's EOI of the vector on its vCPU; then the resample signal reaches vfio-pci and a
   * device still asserting re-raises the line. False when the vector was neither requested nor in service.
   */
  ack(): boolean {
    const e = this.hooks.eoi;
    if (!e) throw new Error(`the guest's EOI cannot be played here: ${this.hooks.eoiAbsence ?? 'no EOI access'}`);
    const r = e.eoi(this.vcpu, this.vector);
    this.hooks.pump();
    return r;
  }
}
