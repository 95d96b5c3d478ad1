import type { Partition } from '../contract/partition';

/**
 * How the conformance suite sees interrupts arrive: per vCPU, which vectors landed since the last
 * look. Backends with {@link index.LocalApicAccess | LocalApicAccess} get one from {@link apicObserver}.
 */
export interface DeliveryObserver {
  /** The APIC ID of `vcpu` (what an MSI's destination names). */
  apicId(vcpu: number): number;
  /** Vectors that landed on `vcpu` since the last call (IRR bits), ascending; clears them. */
  take(vcpu: number): number[];
}

/** One partition under test, made fresh for each case. */
export interface ConformanceSubject {
  /**
   * A partition with at least 2 vCPUs with distinct APIC IDs, APICs enabled; vCPUs 0 and 1 have
   * APIC IDs below 256. Where `x2apic` is declared, another vCPU has an APIC ID from 256 to 0x7FFF
   * (the extended destination ID's reach).
   */
  readonly partition: Partition;
  /** Where the suite looks for deliveries on the partition's vCPUs. */
  readonly observer: DeliveryObserver;
  /** Resolves once every signal raised before the call has been delivered or latched. */
  settle(): Promise<void>;
  /**
   * True where a waiter on another thread may inject at any moment (an epoll worker relaying
   * routes): the suite then reads the observer only after `settle()`, since reading and clearing
   * IRR would race such an injection. Default false: deliveries happen only inside calls on the
   * partition, its routes and events, and inside `settle()`; the overflow cases then also look
   * before settling, to tell a signal delivered twice (by the call, then by the waiter) from one
   * delivered once.
   */
  readonly waiterThread?: boolean;
  /**
   * Makes the next routing-table commit fail, as a hypervisor refusing it would (KVM: the next
   * KVM_SET_GSI_ROUTING returns an error). Required where `irqfd().capabilities.routingTable` is
   * true: the suite uses it to check that a failed batch rolls every route back.
   */
  failNextCommit?(): void;
  /**
   * The guest's EOI of `vector` on vCPU `vcpu` (the vector leaves IRR and ISR; a level-triggered
   * one's EOI reaches the IOAPIC, which acknowledges the pin: a level route deasserts and signals
   * its resample event). Only a model can offer it: no guest code runs for a hardware target.
   * Returns false when the vector was neither requested nor in service. The level cases that need
   * the guest's EOI run where it is offered (manifest `guestEoi`).
   */
  eoi?(vcpu: number, vector: number): boolean;
  /** Tears the subject down (disposes the partition). */
  dispose(): void;
}

/**
 * What a backend declares it supports, so the suite runs the cases that apply and registers the
 * others as skipped with the reason (a run shows what it did not prove). The first case checks the
 * declaration against the live capabilities.
 */
export interface ConformanceManifest {
  /** `irqfd().capabilities.stableEvent`: false where routes replace their event (the event-replacement case runs then). */
  readonly stableEvent: boolean;
  /** `irqfd().capabilities.routingTable`: batches commit to a routing table (the failed-commit case runs then). */
  readonly routingTable: boolean;
  /** `irqfd().capabilities.mediation`. */
  readonly mediation: 'kernel' | 'emulated';
  /** `partition.capabilities.resample`: `newLevelRoute` works (the level-route cases run then; the partition must offer `IoApicAccess`). */
  readonly resample: boolean;
  /** The subject offers `eoi` (a model): the level-route cases that need the guest's EOI run then. */
  readonly guestEoi: boolean;
  /** `partition.capabilities.x2apic`; the subject then has a vCPU whose APIC ID is from 256 to 0x7FFF. */
  readonly x2apic: boolean;
  /**
   * Routes beyond the kernel's limit (`irqfd().capabilities.maxKernelRoutes`, below `maxRoutes`)
   * are relayed from user space, per route (`route.mediation`), and move to the kernel as kernel
   * routes free up. The overflow cases then run: give the subject a small kernel route limit (at
   * most 64, and `maxRoutes` at least 3 more), and a `settle` that waits for the relay's waiter.
   * Never derived from capabilities: declare it.
   */
  readonly overflow: boolean;
}

/** How the suite gets subjects for one backend configuration: its name, a maker, and its manifest. */
export interface ConformanceFactory {
  /** Shown in test names, e.g. `kvm (irqfd)`. */
  readonly name: string;
  /** A fresh subject, called once per case (and once at registration to derive the manifest); the suite disposes each. */
  create(): Promise<ConformanceSubject> | ConformanceSubject;
  /**
   * What the backend supports. Keys left out are derived from the capabilities of a subject made
   * once at registration (when `create` returns synchronously), else assumed (`stableEvent` true,
   * everything else false); the suite's describe block names every key it did not get declared.
   */
  readonly supports?: Partial<ConformanceManifest>;
}

/** The outcome of one case in {@link runIrqFdConformance}. */
export interface ConformanceCaseResult {
  /** The case's name. */
  readonly name: string;
  /** True when the case ran and every check held. */
  readonly passed: boolean;
  /** Set when the case did not apply (then `passed` is false: a skip proves nothing). */
  readonly skipped?: string;
  /** What the failing case threw (a {@link ConformanceFailure}, a VirtError, anything). */
  readonly error?: unknown;
}
