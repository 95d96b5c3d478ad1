import type { PartitionCapabilities } from './capabilities';
import type { IrqFd } from './irqfd';
import type { Disposable } from '../disposable';

/**
 * A virtual machine on one hypervisor backend, as far as interrupts are concerned.
 */
export interface Partition extends Disposable {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly backend: string;
  /** Number of vCPUs; they are numbered 0 to `vcpuCount - 1`. */
  readonly vcpuCount: number;
  /** What this partition can do (irqfd mediation, route limit, x2APIC, vCPU limit). Frozen. */
  readonly capabilities: PartitionCapabilities;
  /** True once `dispose()` has run. */
  readonly disposed: boolean;
  /**
   * The partition's irqfd (the same object on every call), or undefined where the backend has
   * neither kernel irqfd nor a user-space relay. Check `irqfd().capabilities.mediation` to know
   * which you got.
   */
  irqfd(): IrqFd | undefined;
  /**
   * Injects one MSI now, from user space (KVM_SIGNAL_MSI, WHvRequestInterrupt). Returns true when
   * delivered, false when the guest blocked it (e.g. its APIC is software-disabled).
   * INVALID_ARGUMENT / INVALID_MSI before any side effect; a typed error when the hypervisor fails.
   */
  requestMsi(address: number | bigint, data: number): boolean;
  /** Releases every route, vCPU and the VM itself. Idempotent; never throws. */
  dispose(): void;
}

/** A vCPU's local APIC as a diagnostic read sees it. */
export interface LocalApicState {
  /** The vCPU's APIC ID (8 bits in xAPIC mode, 32 with x2APIC). */
  readonly apicId: number;
  /** Vectors whose IRR bit is set, ascending. */
  readonly irr: readonly number[];
  /** Vectors whose ISR bit is set, ascending. */
  readonly isr: readonly number[];
  /**
   * Vectors whose TMR bit is set (last accepted as level-triggered), ascending, where the backend
   * reads it (KVM: the register page at 0x180; the software model).
   */
  readonly tmr?: readonly number[];
  /** Spurious-interrupt vector register bit 8. */
  readonly softwareEnabled: boolean;
}

/**
 * Diagnostic access to each vCPU's local APIC, which backends that can read it offer (KVM through
 * KVM_GET_LAPIC, the software backend from its model). Tests and the demo observe delivery here.
 */
export interface LocalApicAccess {
  /**
   * The local APIC of vCPU `vcpu` (0 to `vcpuCount - 1`), read now. INVALID_ARGUMENT for a vCPU
   * out of range, DISPOSED after dispose, a typed error when the hypervisor read fails.
   */
  readLocalApic(vcpu: number): LocalApicState;
  /** Clears every IRR bit of `vcpu`, so the next read shows only new deliveries. */
  clearIrr(vcpu: number): void;
}

/** Whether `p` offers {@link LocalApicAccess}. Never throws (false for anything that is not an object). */
export function hasLocalApicAccess(p: Partition): p is Partition & LocalApicAccess {
  if (typeof p !== 'object' || p === null) return false;
  const q = p as Partial<LocalApicAccess>;
  return typeof q.readLocalApic === 'function' && typeof q.clearIrr === 'function';
}
