/**
 * What a Linux hypervisor backend supplies to the shared irqfd engine ({@link IrqFdEngine}), and
 * nothing more. KVM and mshv share the rules that the engine implements once: the whole routing
 * table is committed at once, a GSI's route exists before an irqfd is assigned on it, an irqfd is
 * deassigned before its route goes, mask = deassign (signals latch in the eventfd), unmask =
 * assign again, and a failed transaction is rolled back. The backend only describes its kernel:
 *
 * - which GSIs it hands out and which fixed entries every table keeps (KVM: the legacy PIC/IOAPIC
 *   routes of GSIs 0-23, `include/uapi/linux/kvm.h`, `kvm_setup_default_irq_routing`; mshv: none);
 * - how the routing table and the irqfd argument are laid out (its ABI: field offsets, and the
 *   fixed entries already encoded), the two ioctls that take them and the fd they are issued on, as
 *   data: the engine writes the bytes and issues the ioctls itself, so an unmask never calls back
 *   into the backend's package on its way to the kernel;
 * - how many entries one table may hold (KVM_MAX_IRQ_ROUTES, mshv's 4096);
 * - its MSI policy: validation run before any system call (mshv refuses a nonzero `address_hi`,
 *   addresses outside 0xFEExxxxx and physical destinations without a VP, because its kernel
 *   accepts or misroutes them);
 * - how a signal latched while a route was not armed is delivered when it is armed (KVM:
 *   KVM_SIGNAL_MSI; mshv: the assert-interrupt hypercall), and what the overflow path (routes that
 *   found no free GSI, delivered from user space) injects with in its worker thread.
 *
 * Every number here is in the backend's own words (from its abi module); the engine writes them
 * where the backend says and never interprets a table byte otherwise.
 */
import type { MsiMessage } from '@tsvmm/virt';
import type { RawInjector } from '@tsvmm/virt/implement';
import type { IoctlDef } from '../ioctl';
import type { InjectorSpec } from '../relay/protocol';
import type { Syscalls } from '../syscalls';

/** Where an MSI routing entry's fields lie: byte offsets within one entry, each an unsigned 32-bit little-endian field. */
export interface MsiEntryLayout {
  /** The GSI (KVM: `gsi` @0; mshv: `gsi` @0). */
  readonly gsi: number;
  /** Address bits 31:0 (KVM: `u.msi.address_lo`; mshv: `address_lo`). */
  readonly addressLo: number;
  /** Address bits 63:32 (KVM: `u.msi.address_hi`; mshv: `address_hi`). */
  readonly addressHi: number;
  /** The message data (KVM: `u.msi.data`; mshv: `data`). */
  readonly data: number;
  /** A type field and the value that marks an MSI entry (KVM: `type` = KVM_IRQ_ROUTING_MSI), where the entry has one. */
  readonly type?: MsiEntryType;
}

/** The type field of a routing entry, as an MSI entry sets it. */
export interface MsiEntryType {
  /** Byte offset of the unsigned 32-bit field within an entry (KVM: `type` @4). */
  readonly offset: number;
  /** The value that marks an MSI entry (KVM: KVM_IRQ_ROUTING_MSI, 1). */
  readonly value: number;
}

/** The routing-table ABI: one header followed by fixed-size entries, as one ioctl argument. */
export interface RoutingTableLayout {
  /** Bytes before the first entry (KVM: `struct kvm_irq_routing`, 8). */
  readonly headerSize: number;
  /** Bytes per entry (KVM: `struct kvm_irq_routing_entry`, 48). */
  readonly entrySize: number;
  /** Offset in the header of its unsigned 32-bit entry count (KVM: `nr`, 0); every other header byte is 0. */
  readonly countOffset: number;
  /**
   * The entries every table starts with, before the MSI routes, encoded by the backend (KVM: the
   * 40 legacy IRQCHIP entries; mshv: none): whole entries, `entrySize` bytes each. The engine copies it once.
   */
  readonly fixedEntries: Uint8Array;
  /** An MSI entry's fields; every byte of the entry not named there is 0 (padding, unused union members). */
  readonly msiEntry: MsiEntryLayout;
}

/** The irqfd ioctl's argument (KVM: `struct kvm_irqfd`, 32 bytes; mshv: `struct mshv_user_irqfd`, 16). */
export interface IrqFdArgLayout {
  /** Bytes of the argument. */
  readonly size: number;
  /** Offset of the eventfd, 32-bit (KVM `__u32`, mshv `__s32`: a descriptor is never negative, so both take the same bytes). */
  readonly fd: number;
  /** Offset of the GSI (unsigned 32-bit). */
  readonly gsi: number;
  /** Offset of the flags (unsigned 32-bit): 0 to assign, `deassignFlag` to deassign. */
  readonly flags: number;
  /** The deassign flag (KVM_IRQFD_FLAG_DEASSIGN, MSHV_IRQFD_FLAG_DEASSIGN). */
  readonly deassignFlag: number;
  /**
   * The argument's bytes before `fd`, `gsi` and `flags` are written, for fields that never change
   * (mshv: `resamplefd` = -1; resample is never used). Default: all 0. `size` bytes.
   */
  readonly template?: Uint8Array;
}

/** The two ioctls the engine issues on {@link IrqFdBackend.fd}; their names appear in errors. */
export interface IrqFdIoctls {
  /** Replaces the whole routing table (KVM_SET_GSI_ROUTING, MSHV_SET_MSI_ROUTING). */
  readonly setRouting: IoctlDef;
  /** Assigns or deassigns one irqfd (KVM_IRQFD, MSHV_IRQFD). */
  readonly irqfd: IoctlDef;
}

/** A Linux hypervisor as the irqfd engine sees it: data, its MSI policy and its injectors. Immutable. */
export interface IrqFdBackend {
  /** Name in errors and capabilities, e.g. `KVM`, `mshv`. */
  readonly name: string;
  /** The system call the ioctls go through (the partition's `ioctl`). */
  readonly sys: Pick<Syscalls, 'ioctl'>;
  /** The fd both ioctls are issued on (KVM: the VM fd; mshv: the partition fd), owned by the partition. */
  readonly fd: number;
  /** The routing-table and irqfd ioctls (their definitions from the backend's abi module). */
  readonly ioctls: IrqFdIoctls;
  /** The first GSI handed to MSI routes (KVM: 24, above the legacy pins; mshv: 1, never 0). */
  readonly firstGsi: number;
  /**
   * Entries one routing table may hold, fixed entries included (KVM: KVM_MAX_IRQ_ROUTES, 4096 on
   * current kernels; mshv: 4096). Every GSI handed out is below `firstGsi + maxTableEntries -
   * fixed entries`, which must not exceed the kernel's GSI limit.
   */
  readonly maxTableEntries: number;
  /** How the routing table is laid out (header, fixed entries, MSI entries). */
  readonly table: RoutingTableLayout;
  /** How the irqfd ioctl's argument is laid out. */
  readonly irqfdArg: IrqFdArgLayout;
  /**
   * The MSI policy: the message `addressLo/addressHi/data` (each an unsigned 32-bit word; the
   * address is never joined) as this kernel handles it correctly, or INVALID_ARGUMENT /
   * INVALID_MSI. Runs before any system call.
   */
  parseMsi(operation: string, addressLo: number, addressHi: number, data: number): MsiMessage;
  /**
   * Injects one MSI on the calling thread: delivers a signal that latched while a route was not
   * armed, when it is armed, and overflow signals handled on the main thread. True when delivered,
   * false when the guest blocked it; throws a typed VirtError when the kernel refuses.
   */
  readonly inject: RawInjector;
  /** The same injection, done by the overflow path's worker thread (described as data: the ioctl and where the MSI goes in its argument). */
  readonly workerInjector: InjectorSpec;
}
