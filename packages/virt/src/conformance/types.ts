import type { Partition } from '../contract/partition';

/**
 * How the conformance suite sees interrupts arrive: per vCPU, which vectors landed since the last
 * look. Backends with {@link LocalApicAccess} get one from {@link apicObserver}.
 */
export interface DeliveryObserver {
  /** The APIC ID of `vcpu` (what an MSI's destination names). */
  apicId(vcpu: number): number;
  /** Vectors that landed on `vcpu` since the last call (IRR bits), ascending; clears them. */
  take(vcpu: number): number[];
}

/** One partition under test, made fresh for each case. */
export interface ConformanceSubject {
  /** A partition with at least 2 vCPUs, with distinct APIC IDs below 256, APICs enabled. */
  readonly partition: Partition;
  readonly observer: DeliveryObserver;
  /** Resolves once every signal raised before the call has been delivered or latched. */
  settle(): Promise<void>;
  /**
   * Makes the next routing-table commit fail, as a hypervisor refusing it would (KVM: the next
   * KVM_SET_GSI_ROUTING returns an error). Required where `irqfd().capabilities.routingTable` is
   * true: the suite uses it to check that a failed batch rolls every route back.
   */
  failNextCommit?(): void;
  /** Tears the subject down (disposes the partition). */
  dispose(): void;
}

export interface ConformanceFactory {
  /** Shown in test names, e.g. `kvm (irqfd)`. */
  readonly name: string;
  create(): Promise<ConformanceSubject> | ConformanceSubject;
}

export interface ConformanceCaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly error?: unknown;
}
