/**
 * The upstream `/dev/mshv` ABI (x86_64, `include/uapi/linux/mshv.h`, Linux 6.15+; the kernel side
 * in `drivers/hv/mshv_*.c`): ioctl numbers, struct layouts and constants, each defined once.
 * Debian's kernel headers predate this UAPI, so `test/abi.test.ts` checks every number and offset
 * against literal values taken from the header's definitions instead of a C compiler.
 *
 * The older out-of-tree ABI (other ioctl numbers, a 48-byte create-partition struct with no
 * separate initialize) is deliberately not here.
 */
import { type IoctlDef, ioctlFamily } from '@tsvmm/linux-sys';
import { defineStruct, defineTable } from '@tsvmm/ffi';

/** The ioctl type byte of every MSHV ioctl (`MSHV_IOCTL`). */
export const MSHV_IOCTL = 0xb8;

/** The device node: present only where Linux runs as the Microsoft Hypervisor's root partition. */
export const MSHV_DEVICE = '/dev/mshv';

// ---- struct layouts ----

/** `struct mshv_create_partition` (16 bytes): `pt_flags` (MSHV_PT_BIT_*), `pt_isolation` (0 = none). */
export const MSHV_CREATE_PARTITION_LAYOUT = defineStruct('struct mshv_create_partition', {
  ptFlags: 'u64',
  ptIsolation: 'u64',
});

/** `struct mshv_create_vp` (4 bytes): the VP index, below {@link MSHV_MAX_VPS}. */
export const MSHV_CREATE_VP_LAYOUT = defineStruct('struct mshv_create_vp', {
  vpIndex: 'u32',
});

/**
 * `struct mshv_user_irqfd` (16 bytes). The field order differs from `struct kvm_irqfd` (fd, gsi,
 * flags, resamplefd) and there is no padding.
 */
export const MSHV_USER_IRQFD_LAYOUT = defineStruct('struct mshv_user_irqfd', {
  fd: 'i32',
  resamplefd: 'i32',
  gsi: 'u32',
  flags: 'u32',
});

/** `struct mshv_user_irq_table` header (8 bytes); `nr` entries of {@link MSHV_USER_IRQ_ENTRY_LAYOUT} follow. */
export const MSHV_USER_IRQ_TABLE_LAYOUT = defineStruct('struct mshv_user_irq_table', {
  nr: 'u32',
  rsvd: 'u32',
});

/** `struct mshv_user_irq_entry` (16 bytes): one MSI route. */
export const MSHV_USER_IRQ_ENTRY_LAYOUT = defineStruct('struct mshv_user_irq_entry', {
  gsi: 'u32',
  addressLo: 'u32',
  addressHi: 'u32',
  data: 'u32',
});

/**
 * The whole MSHV_SET_MSI_ROUTING argument: a {@link MSHV_USER_IRQ_TABLE_LAYOUT} header whose `nr`
 * counts the {@link MSHV_USER_IRQ_ENTRY_LAYOUT} entries that follow it at byte 8, 8 + 16 × nr bytes.
 */
export const MSHV_USER_IRQ_TABLE = defineTable({ header: MSHV_USER_IRQ_TABLE_LAYOUT, entry: MSHV_USER_IRQ_ENTRY_LAYOUT, countField: 'nr' });

/** `struct mshv_root_hvcall` (32 bytes): a hypercall passed through the kernel's allow-list. */
export const MSHV_ROOT_HVCALL_LAYOUT = defineStruct('struct mshv_root_hvcall', {
  code: 'u16',
  reps: 'u16',
  inSz: 'u16',
  outSz: 'u16',
  /** 0 on input; the hypervisor status on output. */
  status: 'u16',
  rsvd: { type: 'u16', count: 3 },
  inPtr: 'u64',
  outPtr: 'u64',
});

/** `struct mshv_get_set_vp_state` (16 bytes). */
export const MSHV_GET_SET_VP_STATE_LAYOUT = defineStruct('struct mshv_get_set_vp_state', {
  type: 'u8',
  rsvd: { type: 'u8', count: 3 },
  bufSz: 'u32',
  bufPtr: 'u64',
});

/**
 * The input of HVCALL_ASSERT_VIRTUAL_INTERRUPT (32 bytes; Hyper-V TLFS, "HvCallAssertVirtualInterrupt").
 * The kernel fills `partition_id`.
 */
export const HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT = defineStruct('struct hv_input_assert_virtual_interrupt', {
  partitionId: 'u64',
  /** Interrupt type in bits 31:0, level-triggered bit 32, logical destination mode bit 33. */
  control: 'u64',
  destination: { type: 'u64', c: 'dest_addr' },
  vector: 'u32',
  targetVtl: 'u8',
  rsvd0: { type: 'u8', c: 'rsvd_z0' },
  rsvd1: { type: 'u16', c: 'rsvd_z1' },
});

// ---- ioctls ----

const mshv = ioctlFamily(MSHV_IOCTL);

/**
 * `MSHV_CREATE_PARTITION` (0x4010B800) on the /dev/mshv fd, with a
 * {@link MSHV_CREATE_PARTITION_LAYOUT}: returns the new partition fd. Older kernels reject unknown
 * `pt_flags` bits with EINVAL.
 */
export const MSHV_CREATE_PARTITION: IoctlDef = mshv.iow('MSHV_CREATE_PARTITION', 0x00, MSHV_CREATE_PARTITION_LAYOUT);
/** `MSHV_INITIALIZE_PARTITION` (0xB800) on a partition fd, after create and before MSHV_CREATE_VP; no argument; idempotent. */
export const MSHV_INITIALIZE_PARTITION: IoctlDef = mshv.io('MSHV_INITIALIZE_PARTITION', 0x00);
/**
 * `MSHV_CREATE_VP` (0x4004B801) on a partition fd, with a {@link MSHV_CREATE_VP_LAYOUT}: returns
 * the new VP fd; EINVAL for an index of {@link MSHV_MAX_VPS} or more, EEXIST when it is taken.
 */
export const MSHV_CREATE_VP: IoctlDef = mshv.iow('MSHV_CREATE_VP', 0x01, MSHV_CREATE_VP_LAYOUT);
/** `MSHV_SET_GUEST_MEMORY` (0x4020B802) on a partition fd: `struct mshv_user_mem_region` is 32 bytes; not used by the irqfd path. */
export const MSHV_SET_GUEST_MEMORY: IoctlDef = mshv.iow('MSHV_SET_GUEST_MEMORY', 0x02, 32);
/**
 * `MSHV_IRQFD` (0x4010B803) on a partition fd, with a {@link MSHV_USER_IRQFD_LAYOUT}: assigns an
 * eventfd to a GSI, or deassigns it with {@link MSHV_IRQFD_FLAG_DEASSIGN}. EBUSY for an eventfd
 * already assigned in the partition, EINVAL for unknown flags or a non-eventfd, EBADF for a bad fd;
 * the GSI is not range-checked.
 */
export const MSHV_IRQFD: IoctlDef = mshv.iow('MSHV_IRQFD', 0x03, MSHV_USER_IRQFD_LAYOUT);
/** `MSHV_IOEVENTFD` (0x4020B804) on a partition fd: `struct mshv_user_ioeventfd` is 32 bytes; not used by the irqfd path. */
export const MSHV_IOEVENTFD: IoctlDef = mshv.iow('MSHV_IOEVENTFD', 0x04, 32);
/**
 * `MSHV_SET_MSI_ROUTING` (0x4008B805) on a partition fd: replaces the whole routing table (a
 * {@link MSHV_USER_IRQ_TABLE_LAYOUT} header and its entries), all or nothing; `nr` 0 clears it. The
 * size in the number is the 8-byte header only; the entries follow it in the same buffer. EINVAL for
 * more than {@link MSHV_MAX_MSI_ROUTES} entries, nonzero `rsvd`, a GSI at or above 4096, a duplicate
 * GSI, or ANY nonzero `address_hi`; EFAULT for a buffer shorter than `nr` entries.
 */
export const MSHV_SET_MSI_ROUTING: IoctlDef = mshv.iow('MSHV_SET_MSI_ROUTING', 0x05, MSHV_USER_IRQ_TABLE_LAYOUT);
/**
 * `MSHV_ROOT_HVCALL` (0xC020B807) on a partition or VP fd, with a {@link MSHV_ROOT_HVCALL_LAYOUT}:
 * passes a hypercall on the kernel's allow-list to the hypervisor. EINVAL for a nonzero input
 * status, a null `in_ptr`, `in_sz` outside 8..4096, nonzero reserved fields or a code not on the
 * list; a hypervisor failure comes back as an errno with the status written into `status`.
 */
export const MSHV_ROOT_HVCALL: IoctlDef = mshv.iowr('MSHV_ROOT_HVCALL', 0x07, MSHV_ROOT_HVCALL_LAYOUT);
/** `MSHV_RUN_VP` (0x8100B800) on a VP fd: runs the VP (`struct mshv_run_vp`, 256 bytes); not used by the irqfd path. */
export const MSHV_RUN_VP: IoctlDef = mshv.ior('MSHV_RUN_VP', 0x00, 256);
/**
 * `MSHV_GET_VP_STATE` (0xC010B801) on a VP fd, with a {@link MSHV_GET_SET_VP_STATE_LAYOUT}: reads
 * the state of {@link MSHV_VP_STATE_LAPIC} type into `buf_ptr` (4 KiB-aligned address and size,
 * else EINVAL) and writes the size used into `buf_sz`.
 */
export const MSHV_GET_VP_STATE: IoctlDef = mshv.iowr('MSHV_GET_VP_STATE', 0x01, MSHV_GET_SET_VP_STATE_LAYOUT);
/**
 * `MSHV_SET_VP_STATE` (0xC010B802) on a VP fd, with a {@link MSHV_GET_SET_VP_STATE_LAYOUT}: writes
 * the state back from `buf_ptr`, with the same alignment rules as {@link MSHV_GET_VP_STATE}.
 */
export const MSHV_SET_VP_STATE: IoctlDef = mshv.iowr('MSHV_SET_VP_STATE', 0x02, MSHV_GET_SET_VP_STATE_LAYOUT);

/** Every ioctl above, in one list: `test/abi.test.ts` checks each number against the header's literal values. */
export const MSHV_IOCTLS: readonly IoctlDef[] = Object.freeze([
  MSHV_CREATE_PARTITION,
  MSHV_INITIALIZE_PARTITION,
  MSHV_CREATE_VP,
  MSHV_SET_GUEST_MEMORY,
  MSHV_IRQFD,
  MSHV_IOEVENTFD,
  MSHV_SET_MSI_ROUTING,
  MSHV_ROOT_HVCALL,
  MSHV_RUN_VP,
  MSHV_GET_VP_STATE,
  MSHV_SET_VP_STATE,
]);

/** Every struct layout above, in one list: `test/abi.test.ts` checks each size and offset against the header. */
export const MSHV_LAYOUTS = Object.freeze([
  MSHV_CREATE_PARTITION_LAYOUT,
  MSHV_CREATE_VP_LAYOUT,
  MSHV_USER_IRQFD_LAYOUT,
  MSHV_USER_IRQ_TABLE_LAYOUT,
  MSHV_USER_IRQ_ENTRY_LAYOUT,
  MSHV_ROOT_HVCALL_LAYOUT,
  MSHV_GET_SET_VP_STATE_LAYOUT,
  HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT,
] as const);

// ---- constants ----

/** `pt_flags` bit 0: the partition has local APICs (always set by this package). */
export const MSHV_PT_BIT_LAPIC = 1n << 0n;
/**
 * `pt_flags` bit 1: the partition is x2APIC-capable (the kernel passes it to the hypervisor as
 * HV_PARTITION_CREATION_FLAG_X2APIC_CAPABLE): its guest may switch the local APICs to x2APIC mode.
 * It widens neither the VP index ({@link MSHV_MAX_VPS}) nor the routing entry's destination
 * ({@link MSHV_ROUTE_MAX_APIC_ID}). Set by the `x2apic` partition option.
 */
export const MSHV_PT_BIT_X2APIC = 1n << 1n;
/** `pt_flags` bit 2 (GPA_SUPER_PAGES), an option of guest-memory mapping; never set here. */
export const MSHV_PT_BIT_GPA_SUPER_PAGES = 1n << 2n;
/** Newer kernels only: selects the 64-byte create-partition form. Never set by this package. */
export const MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES = 1n << 3n;
/** `pt_isolation` 0: an ordinary partition, no isolation (the only value this package uses). */
export const MSHV_PT_ISOLATION_NONE = 0n;

/** `mshv_user_irqfd.flags` bit 0: deassign the irqfd matching (eventfd, gsi); 0 even when none matched. */
export const MSHV_IRQFD_FLAG_DEASSIGN = 1 << 0;
/**
 * `mshv_user_irqfd.flags` bit 1: level-triggered with a resamplefd. Never set here: x86 kernels
 * before the 2026 stable fix fail it with EINVAL, and no upstream code signals the resamplefd.
 */
export const MSHV_IRQFD_FLAG_RESAMPLE = 1 << 1;

/** Most entries in one MSHV_SET_MSI_ROUTING table, and the bound on every gsi (EINVAL at or above). */
export const MSHV_MAX_MSI_ROUTES = 4096;
/**
 * VP indexes must be below this (MSHV_CREATE_VP: EINVAL otherwise), with or without
 * {@link MSHV_PT_BIT_X2APIC}. A VP's APIC ID is its index: MSHV_CREATE_VP takes nothing else.
 */
export const MSHV_MAX_VPS = 256;
/**
 * The largest APIC ID an MSHV_SET_MSI_ROUTING entry can name: the kernel takes the destination
 * from address bits 19:12 only (`mshv_copy_girq_info`, 8 bits) and rejects the whole table when
 * any `address_hi` is nonzero (`mshv_update_routing_table`, EINVAL), in xAPIC and x2APIC-capable
 * partitions alike. This is mshv's one encoding of a destination in a routing entry: there is no
 * 32-bit form.
 */
export const MSHV_ROUTE_MAX_APIC_ID = 0xff;

/** `mshv_get_set_vp_state.type` for the local APIC. */
export const MSHV_VP_STATE_LAPIC = 0;
/** The VP state buffer: at least one page, and both its size and its address 4 KiB aligned. */
export const MSHV_VP_STATE_PAGE = 4096;

/** The hypercall that injects one interrupt (on the kernel's MSHV_ROOT_HVCALL allow-list). */
export const HVCALL_ASSERT_VIRTUAL_INTERRUPT = 0x0094;
/**
 * In the assert-interrupt control word (`union hv_interrupt_control`, 64 bits: the interrupt type
 * in bits 31:0, bit 32 level-triggered, bit 33 logical destination mode): the interrupt type's
 * lowest bit.
 */
export const HV_INTERRUPT_CONTROL_TYPE_BIT = 0;
/** In the assert-interrupt control word: the level-triggered bit, 32 (from MSI data bit 15). */
export const HV_INTERRUPT_CONTROL_LEVEL_BIT = 32;
/** In the assert-interrupt control word: the logical destination mode bit, 33 (from MSI address bit 2). */
export const HV_INTERRUPT_CONTROL_LOGICAL_BIT = 33;
/** In the assert-interrupt control word: bit 32, level-triggered (MSI data bit 15). */
export const HV_INTERRUPT_CONTROL_LEVEL = 1n << BigInt(HV_INTERRUPT_CONTROL_LEVEL_BIT);
/** In the assert-interrupt control word: bit 33, logical destination mode (MSI address bit 2). */
export const HV_INTERRUPT_CONTROL_LOGICAL = 1n << BigInt(HV_INTERRUPT_CONTROL_LOGICAL_BIT);

/**
 * Hypervisor interrupt types (`enum hv_interrupt_type`): the same numbers as the MSI delivery
 * mode, which the kernel passes through unchanged.
 */
export const HV_INTERRUPT_TYPE = Object.freeze({
  /** Fixed: the vector to the destination APIC(s). */
  FIXED: 0,
  /** Lowest priority among the destination APICs. */
  LOWEST_PRIORITY: 1,
  /** System management interrupt. */
  SMI: 2,
  /** Remote read. */
  REMOTE_READ: 3,
  /** Non-maskable interrupt. */
  NMI: 4,
  /** INIT. */
  INIT: 5,
  /** Startup IPI. */
  SIPI: 6,
  /** External interrupt (ExtINT). */
  EXTINT: 7,
});

/**
 * The VP register page (mmap of a VP fd at offset 0): on root-scheduler hosts the irqfd fast path
 * queues vectors at `interrupt_vectors` (a count byte, then up to 7 vector bytes) instead of the IRR.
 */
export const MSHV_VP_REGISTER_PAGE_INTERRUPT_VECTORS = 688;
/** At most this many vectors queue in the VP register page after the count byte at {@link MSHV_VP_REGISTER_PAGE_INTERRUPT_VECTORS}. */
export const MSHV_VP_REGISTER_PAGE_MAX_QUEUED_VECTORS = 7;

/** Hypervisor status codes (Hyper-V TLFS, "Hypercall Status Codes") that an mshv call can report. */
export const HV_STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x0000: 'HV_STATUS_SUCCESS',
  0x0002: 'HV_STATUS_INVALID_HYPERCALL_CODE',
  0x0003: 'HV_STATUS_INVALID_HYPERCALL_INPUT',
  0x0004: 'HV_STATUS_INVALID_ALIGNMENT',
  0x0005: 'HV_STATUS_INVALID_PARAMETER',
  0x0006: 'HV_STATUS_ACCESS_DENIED',
  0x0007: 'HV_STATUS_INVALID_PARTITION_STATE',
  0x0008: 'HV_STATUS_OPERATION_DENIED',
  0x000b: 'HV_STATUS_INSUFFICIENT_MEMORY',
  0x000d: 'HV_STATUS_INVALID_PARTITION_ID',
  0x000e: 'HV_STATUS_INVALID_VP_INDEX',
  0x0010: 'HV_STATUS_INVALID_VP_STATE',
});

/** `HV_STATUS_INVALID_PARAMETER` for 5; `hypervisor status 0x…` for codes without a name here. */
export function hvStatusName(status: number): string {
  return HV_STATUS_NAMES[status] ?? `hypervisor status 0x${status.toString(16).padStart(4, '0')}`;
}
