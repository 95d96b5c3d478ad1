/**
 * What a Linux hypervisor backend supplies to the shared irqfd engine ({@link IrqFdEngine}), and
 * nothing more. KVM and mshv share the rules that the engine implements once: the whole routing
 * table is committed at once, a GSI's route exists before an irqfd is assigned on it, an irqfd is
 * deassigned before its route goes, mask = deassign (signals latch in the eventfd), unmask =
 * assign again, and a failed transaction is rolled back. The backend only describes its kernel:
 *
 * - which GSIs it hands out and which fixed entries every table keeps (KVM: the legacy PIC/IOAPIC
 *   routes of GSIs 0-23, `include/uapi/linux/kvm.h`, `kvm_setup_default_irq_routing`; mshv: none);
 * - how the routing table and the irqfd argument are laid out (its ABI), and the two ioctls
 *   that take them (its calls module);
 * - how many entries one table may hold (KVM_MAX_IRQ_ROUTES, mshv's 4096);
 * - its MSI policy: validation run before any system call (mshv refuses a nonzero `address_hi`,
 *   addresses outside 0xFEExxxxx and physical destinations without a VP, because its kernel
 *   accepts or misroutes them);
 * - how a signal latched while a route was not armed is delivered when it is armed (KVM:
 *   KVM_SIGNAL_MSI; mshv: the assert-interrupt hypercall), and what the overflow path (routes that
 *   found no free GSI, delivered from user space) injects with in its worker thread.
 *
 * Every number here is in the backend's own words; the engine never interprets a table byte.
 */
import type { MsiMessage, RawInjector } from '@tsvmm/virt';
import type { InjectorSpec } from '../relay/protocol';

/** The routing-table ABI: one header followed by fixed-size entries, as one ioctl argument. */
export interface RoutingTableEncoding {
  /** Bytes before the first entry (KVM: `struct kvm_irq_routing`, 8). */
  readonly headerSize: number;
  /** Bytes per entry (KVM: `struct kvm_irq_routing_entry`, 48). */
  readonly entrySize: number;
  /** Entries at the start of every table, before the MSI routes (KVM: 40 legacy entries; mshv: 0). */
  readonly fixedEntryCount: number;
  /** Writes the header for a table of `entryCount` entries (fixed ones included) at offset 0. */
  encodeHeader(view: DataView, entryCount: number): void;
  /** Writes fixed entry `index` (0 .. fixedEntryCount-1) at byte `offset`. */
  encodeFixedEntry(view: DataView, offset: number, index: number): void;
  /**
   * Writes one MSI entry at byte `offset`. The engine zeroes the entry first, so padding and
   * unused union members stay 0.
   */
  encodeMsiEntry(view: DataView, offset: number, gsi: number, msi: MsiMessage): void;
}

/** The irqfd ioctl's argument (KVM: `struct kvm_irqfd`, 32 bytes; mshv: `struct mshv_user_irqfd`). */
export interface IrqFdEncoding {
  /** Bytes of the argument. */
  readonly size: number;
  /**
   * Writes the argument for binding (`assign` true) or unbinding eventfd `fd` and `gsi`. The
   * engine zeroes the buffer first; resample is never used.
   */
  encode(view: DataView, fd: number, gsi: number, assign: boolean): void;
}

/**
 * The two ioctls the engine issues, each bound to the partition's fd. Both return what the
 * system call returned: a non-negative number, or `-errno` (they do not throw), so that the engine
 * decides what a failure means for its state.
 */
export interface IrqFdCalls {
  /** Replaces the whole routing table (KVM_SET_GSI_ROUTING, MSHV_SET_MSI_ROUTING). */
  setRouting(table: Uint8Array): number;
  /** Assigns or deassigns one irqfd, as encoded in `arg` (KVM_IRQFD, MSHV_IRQFD). */
  irqfd(arg: Uint8Array): number;
}

/** A Linux hypervisor as the irqfd engine sees it. Immutable. */
export interface IrqFdBackend {
  /** Name in errors and capabilities, e.g. `KVM`, `mshv`. */
  readonly name: string;
  /** ioctl names in error messages: the routing-table and irqfd ioctls. */
  readonly ioctlNames: {
    /** The routing-table ioctl, e.g. `KVM_SET_GSI_ROUTING`. */
    readonly setRouting: string;
    /** The irqfd ioctl, e.g. `KVM_IRQFD`. */
    readonly irqfd: string;
  };
  /** The first GSI handed to MSI routes (KVM: 24, above the legacy pins; mshv: 1, never 0). */
  readonly firstGsi: number;
  /**
   * Entries one routing table may hold, fixed entries included (KVM: KVM_MAX_IRQ_ROUTES, 4096 on
   * current kernels; mshv: 4096). Every GSI handed out is below `firstGsi + maxTableEntries -
   * fixedEntryCount`, which must not exceed the kernel's GSI limit.
   */
  readonly maxTableEntries: number;
  /** How the routing table is laid out (header, fixed entries, MSI entries). */
  readonly table: RoutingTableEncoding;
  /** How the irqfd ioctl's argument is laid out. */
  readonly irqfdArg: IrqFdEncoding;
  /** The two ioctls, bound to the partition's fd. */
  readonly calls: IrqFdCalls;
  /**
   * The MSI policy: turns a caller's `(address, data)` into a message this kernel handles
   * correctly, or throws INVALID_ARGUMENT / INVALID_MSI. Runs before any system call.
   */
  parseMsi(operation: string, address: unknown, data: unknown): MsiMessage;
  /**
   * Injects one MSI on the calling thread: delivers a signal that latched while a route was not
   * armed, when it is armed, and overflow signals handled on the main thread. True when delivered,
   * false when the guest blocked it; throws a typed VirtError when the kernel refuses.
   */
  readonly inject: RawInjector;
  /** The same injection, built inside the overflow path's worker thread (a module path and arguments). */
  readonly workerInjector: InjectorSpec;
}
