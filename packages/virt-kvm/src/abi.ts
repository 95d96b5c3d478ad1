/**
 * The KVM userspace ABI (x86_64) that tsvmm uses: ioctl numbers, struct layouts and constants,
 * each defined once. `test/c-abi-check.test.ts` of this package compiles a C program against the installed
 * `<linux/kvm.h>` and compares every value here with it.
 */
import { type IoctlDef, ioctlFamily } from '@tsvmm/linux-sys';
import { defineStruct, defineTable, embedLayout } from '@tsvmm/ffi';

/** The ioctl type byte of every KVM ioctl (`KVMIO` in `include/uapi/linux/kvm.h`). */
export const KVMIO = 0xae;
/**
 * What KVM_GET_API_VERSION returns on every kernel since 2.6.22 (`KVM_API_VERSION`); `openKvm`
 * refuses a device that reports anything else.
 */
export const KVM_API_VERSION = 12;

/**
 * `struct kvm_irq_routing`, the 8-byte header of the KVM_SET_GSI_ROUTING argument: `nr` u32 @0
 * (entries that follow, at most KVM_MAX_IRQ_ROUTES), `flags` u32 @4 (must be 0, else EINVAL).
 * `nr` entries of {@link KVM_IRQ_ROUTING_ENTRY} (48 bytes each) follow it in the same buffer.
 */
export const KVM_IRQ_ROUTING = defineStruct('struct kvm_irq_routing', {
  nr: 'u32',
  flags: 'u32',
});

/**
 * `struct kvm_irq_routing_entry` (48 bytes): `gsi` @0, `type` @4 ({@link KVM_IRQ_ROUTING_IRQCHIP}
 * or {@link KVM_IRQ_ROUTING_MSI}), `flags` @8 (for MSI only KVM_MSI_VALID_DEVID = 1; 0 here),
 * `pad` @12, then a 32-byte union @16. MSI member: `address_lo` @16, `address_hi` @20, `data` @24,
 * `devid` @28. IRQCHIP member: `irqchip` @16 (KVM_IRQCHIP_*), `pin` @20.
 */
export const KVM_IRQ_ROUTING_ENTRY = defineStruct(
  'struct kvm_irq_routing_entry',
  {
    gsi: 'u32',
    type: 'u32',
    flags: 'u32',
    pad: 'u32',
    msiAddressLo: { type: 'u32', c: 'u.msi.address_lo' },
    msiAddressHi: { type: 'u32', c: 'u.msi.address_hi' },
    msiData: { type: 'u32', c: 'u.msi.data' },
    msiDevid: { type: 'u32', c: 'u.msi.devid' },
    irqchip: { type: 'u32', offset: 16, c: 'u.irqchip.irqchip' },
    pin: { type: 'u32', c: 'u.irqchip.pin' },
  },
  { size: 48 },
);

/**
 * The whole KVM_SET_GSI_ROUTING argument: a {@link KVM_IRQ_ROUTING} header whose `nr` counts the
 * {@link KVM_IRQ_ROUTING_ENTRY} entries that follow it at byte 8 (`entries[]` is 8-byte aligned,
 * so no gap), 8 + 48 × nr bytes in all.
 */
export const KVM_IRQ_ROUTING_TABLE = defineTable({ header: KVM_IRQ_ROUTING, entry: KVM_IRQ_ROUTING_ENTRY, countField: 'nr' });

/**
 * `struct kvm_irqfd` (32 bytes), the KVM_IRQFD argument: `fd` u32 @0 (the eventfd), `gsi` @4,
 * `flags` @8 ({@link KVM_IRQFD_FLAG_DEASSIGN}, {@link KVM_IRQFD_FLAG_RESAMPLE}), `resamplefd` @12,
 * then 16 bytes of zero padding. The field order differs from mshv's `struct mshv_user_irqfd`.
 */
export const KVM_IRQFD_LAYOUT = defineStruct(
  'struct kvm_irqfd',
  {
    fd: 'u32',
    gsi: 'u32',
    flags: 'u32',
    resamplefd: 'u32',
  },
  { size: 32 },
);

/**
 * `struct kvm_msi` (32 bytes), the KVM_SIGNAL_MSI argument: `address_lo` @0, `address_hi` @4,
 * `data` @8, `flags` @12 (KVM_MSI_VALID_DEVID = 1; 0 here), `devid` @16, then 12 bytes of padding.
 */
export const KVM_MSI_LAYOUT = defineStruct(
  'struct kvm_msi',
  {
    addressLo: 'u32',
    addressHi: 'u32',
    data: 'u32',
    flags: 'u32',
    devid: 'u32',
  },
  { size: 32 },
);

/**
 * `struct kvm_ioapic_state` (216 bytes, x86 `asm/kvm.h`), at offset 8 of `struct kvm_irqchip`:
 * `base_address` u64 @0, `ioregsel` @8, `id` @12, `irr` @16 (the pins' request bits), `pad` @20,
 * then 24 redirection entries of 64 bits @24 (pin i at 24 + 8i). Entry bits (`redirtbl[i].fields`):
 * vector 7:0, delivery_mode 10:8, dest_mode 11, delivery_status 12, polarity 13, remote_irr 14,
 * trig_mode 15, mask 16, dest_id 63:56.
 */
export const KVM_IOAPIC_STATE = defineStruct(
  'struct kvm_ioapic_state',
  {
    baseAddress: 'u64',
    ioregsel: 'u32',
    id: 'u32',
    irr: 'u32',
    pad: 'u32',
    redirtbl0: { type: 'u64', c: 'redirtbl[0].bits' },
    redirtbl23: { type: 'u64', offset: 24 + 23 * 8, c: 'redirtbl[23].bits' },
  },
  {
    size: 216,
    bits: {
    vector: { field: 'redirtbl0', bit: 0, width: 8, c: 'redirtbl[0].fields.vector' },
    deliveryMode: { field: 'redirtbl0', bit: 8, width: 3, c: 'redirtbl[0].fields.delivery_mode' },
    destMode: { field: 'redirtbl0', bit: 11, width: 1, c: 'redirtbl[0].fields.dest_mode' },
    deliveryStatus: { field: 'redirtbl0', bit: 12, width: 1, c: 'redirtbl[0].fields.delivery_status' },
    polarity: { field: 'redirtbl0', bit: 13, width: 1, c: 'redirtbl[0].fields.polarity' },
    remoteIrr: { field: 'redirtbl0', bit: 14, width: 1, c: 'redirtbl[0].fields.remote_irr' },
    trigMode: { field: 'redirtbl0', bit: 15, width: 1, c: 'redirtbl[0].fields.trig_mode' },
    mask: { field: 'redirtbl0', bit: 16, width: 1, c: 'redirtbl[0].fields.mask' },
    destId: { field: 'redirtbl0', bit: 56, width: 8, c: 'redirtbl[0].fields.dest_id' },
    },
  },
);

/** Where `struct kvm_ioapic_state` starts inside `struct kvm_irqchip` (the `chip` union). */
export const KVM_IRQCHIP_CHIP_OFFSET = 8;
/** Bytes between two redirection entries of `struct kvm_ioapic_state`. */
export const KVM_IOAPIC_REDIRTBL_STRIDE = 8;

/** {@link KVM_IOAPIC_STATE} as the `chip.ioapic` member of `struct kvm_irqchip`, at {@link KVM_IRQCHIP_CHIP_OFFSET}. */
const IOAPIC_IN_CHIP = embedLayout('chip.ioapic', KVM_IOAPIC_STATE, KVM_IRQCHIP_CHIP_OFFSET);

/**
 * `struct kvm_irqchip` (520 bytes), the KVM_GET_IRQCHIP / KVM_SET_IRQCHIP argument: `chip_id` u32 @0
 * ({@link KVM_IRQCHIP_IOAPIC} for the IOAPIC), `pad` @4, then a 512-byte union @8 whose IOAPIC
 * member is a {@link KVM_IOAPIC_STATE} (`include/uapi/linux/kvm.h`): its fields and bitfields are
 * here under `chip.ioapic.` (`chip.ioapic.irr` @24, `chip.ioapic.redirtbl0` @32).
 */
export const KVM_IRQCHIP_LAYOUT = defineStruct(
  'struct kvm_irqchip',
  {
    chipId: 'u32',
    pad: 'u32',
    ...IOAPIC_IN_CHIP.fields,
  },
  { size: 520, bits: IOAPIC_IN_CHIP.bits },
);

/**
 * `struct kvm_lapic_state` (1024 bytes): the raw APIC register page as the guest sees it; each 32-bit
 * register sits at its architectural offset (see {@link LAPIC_ID} and the other `LAPIC_*` offsets).
 */
export const KVM_LAPIC_STATE = defineStruct('struct kvm_lapic_state', {}, { size: 1024 });

/**
 * `struct kvm_enable_cap` (104 bytes), the KVM_ENABLE_CAP argument: `cap` u32 @0 (a {@link KVM_CAP}
 * number), `flags` u32 @4 (must be 0 on x86, else EINVAL), `args` u64[4] @8, then 64 bytes of
 * padding. For KVM_CAP_X2APIC_API, `args[0]` holds the `KVM_X2APIC_API_*` flags.
 */
export const KVM_ENABLE_CAP_LAYOUT = defineStruct(
  'struct kvm_enable_cap',
  {
    cap: 'u32',
    flags: 'u32',
    arg: { type: 'u64', count: 4, c: 'args' },
  },
  { size: 104 },
);

/**
 * `struct kvm_cpuid2` (8 bytes), the header of the KVM_SET_CPUID2 argument: `nent` u32 @0 (entries
 * that follow, at most 256 = KVM_MAX_CPUID_ENTRIES, else E2BIG), `padding` u32 @4. `nent` entries
 * of {@link KVM_CPUID_ENTRY2} (40 bytes each) follow it in the same buffer.
 */
export const KVM_CPUID2 = defineStruct('struct kvm_cpuid2', {
  nent: 'u32',
  padding: 'u32',
});

/**
 * `struct kvm_cpuid_entry2` (40 bytes, `asm/kvm.h`): `function` @0 (the CPUID leaf, EAX in),
 * `index` @4 (ECX in), `flags` @8 (`KVM_CPUID_FLAG_*`), then the leaf's `eax` @12, `ebx` @16,
 * `ecx` @20, `edx` @24, and 12 bytes of padding.
 */
export const KVM_CPUID_ENTRY2 = defineStruct(
  'struct kvm_cpuid_entry2',
  {
    function: 'u32',
    index: 'u32',
    flags: 'u32',
    eax: 'u32',
    ebx: 'u32',
    ecx: 'u32',
    edx: 'u32',
  },
  { size: 40 },
);

/**
 * `struct kvm_msrs` (8 bytes), the header of the KVM_GET_MSRS / KVM_SET_MSRS argument: `nmsrs` u32
 * @0 (entries that follow; 256 or more is E2BIG), `pad` u32 @4. `nmsrs` entries of
 * {@link KVM_MSR_ENTRY} (16 bytes each) follow it in the same buffer.
 */
export const KVM_MSRS = defineStruct('struct kvm_msrs', {
  nmsrs: 'u32',
  pad: 'u32',
});

/** `struct kvm_msr_entry` (16 bytes, `asm/kvm.h`): `index` u32 @0 (the MSR number), `reserved` u32 @4, `data` u64 @8. */
export const KVM_MSR_ENTRY = defineStruct('struct kvm_msr_entry', {
  index: 'u32',
  reserved: 'u32',
  data: 'u64',
});

const kvmio = ioctlFamily(KVMIO);

/** `KVM_GET_API_VERSION` (0xAE00) on /dev/kvm: no argument; returns {@link KVM_API_VERSION}. */
export const KVM_GET_API_VERSION: IoctlDef = kvmio.io('KVM_GET_API_VERSION', 0x00);
/** `KVM_CREATE_VM` (0xAE01) on /dev/kvm: argument the machine type (0); returns the new VM fd. */
export const KVM_CREATE_VM: IoctlDef = kvmio.io('KVM_CREATE_VM', 0x01);
/**
 * `KVM_CHECK_EXTENSION` (0xAE03) on /dev/kvm or a VM fd: argument a {@link KVM_CAP} number;
 * returns 0 when absent, > 0 when present (some capabilities report a number, such as a limit).
 */
export const KVM_CHECK_EXTENSION: IoctlDef = kvmio.io('KVM_CHECK_EXTENSION', 0x03);
/**
 * `KVM_CREATE_VCPU` (0xAE41) on a VM fd: argument the vCPU id (which becomes its APIC ID);
 * returns the new vCPU fd.
 */
export const KVM_CREATE_VCPU: IoctlDef = kvmio.io('KVM_CREATE_VCPU', 0x41);
/**
 * `KVM_CREATE_IRQCHIP` (0xAE60) on a VM fd, before any vCPU: the in-kernel PIC, IOAPIC and local
 * APICs, with default IRQCHIP routes for GSIs 0-23 (see `LEGACY_ROUTES`).
 */
export const KVM_CREATE_IRQCHIP: IoctlDef = kvmio.io('KVM_CREATE_IRQCHIP', 0x60);
/**
 * `KVM_SET_GSI_ROUTING` (0x4008AE6A) on a VM fd: replaces the whole routing table with a
 * {@link KVM_IRQ_ROUTING} header and its entries, all or nothing. The size in the number is the
 * 8-byte header only. EINVAL without an in-kernel irqchip, for more than KVM_MAX_IRQ_ROUTES
 * entries, a GSI at or above it, nonzero header flags or a second MSI entry for one GSI.
 */
export const KVM_SET_GSI_ROUTING: IoctlDef = kvmio.iow('KVM_SET_GSI_ROUTING', 0x6a, KVM_IRQ_ROUTING);
/**
 * `KVM_IRQFD` (0x4020AE76) on a VM fd, with a {@link KVM_IRQFD_LAYOUT}: assigns an eventfd to a
 * GSI, or deassigns it with {@link KVM_IRQFD_FLAG_DEASSIGN}. EBUSY for an eventfd already assigned,
 * EINVAL for unknown flags, a non-eventfd fd or no in-kernel irqchip; the GSI is not checked.
 */
export const KVM_IRQFD: IoctlDef = kvmio.iow('KVM_IRQFD', 0x76, KVM_IRQFD_LAYOUT);
/**
 * `KVM_SIGNAL_MSI` (0x4020AEA5) on a VM fd, with a {@link KVM_MSI_LAYOUT}: injects one MSI.
 * Returns > 0 when delivered, 0 when the guest blocked it (for example a software-disabled APIC).
 */
export const KVM_SIGNAL_MSI: IoctlDef = kvmio.iow('KVM_SIGNAL_MSI', 0xa5, KVM_MSI_LAYOUT);
/**
 * `KVM_GET_LAPIC` (0x8400AE8E) on a vCPU fd: reads the local APIC into a 1024-byte
 * {@link KVM_LAPIC_STATE}. EINVAL without an in-kernel irqchip.
 */
export const KVM_GET_LAPIC: IoctlDef = kvmio.ior('KVM_GET_LAPIC', 0x8e, KVM_LAPIC_STATE);
/**
 * `KVM_SET_LAPIC` (0x4400AE8F) on a vCPU fd: writes the local APIC from a 1024-byte
 * {@link KVM_LAPIC_STATE}.
 */
export const KVM_SET_LAPIC: IoctlDef = kvmio.iow('KVM_SET_LAPIC', 0x8f, KVM_LAPIC_STATE);

/**
 * `KVM_ENABLE_CAP` (0x4068AEA3) on a VM fd, with a {@link KVM_ENABLE_CAP_LAYOUT}: turns on a
 * capability. For KVM_CAP_X2APIC_API, EINVAL for flags the kernel does not report
 * (KVM_CHECK_EXTENSION(KVM_CAP_X2APIC_API) returns the valid ones) or nonzero `flags`.
 */
export const KVM_ENABLE_CAP: IoctlDef = kvmio.iow('KVM_ENABLE_CAP', 0xa3, KVM_ENABLE_CAP_LAYOUT);
/**
 * `KVM_SET_CPUID2` (0x4008AE90) on a vCPU fd: the CPUID leaves the guest sees, a {@link KVM_CPUID2}
 * header and its entries. E2BIG for more than 256 entries. KVM takes the x2APIC feature (leaf 1
 * ECX bit 21) from here: without it, IA32_APIC_BASE refuses the x2APIC enable bit.
 */
export const KVM_SET_CPUID2: IoctlDef = kvmio.iow('KVM_SET_CPUID2', 0x90, KVM_CPUID2);
/**
 * `KVM_GET_SUPPORTED_CPUID` (0xC008AE05, `_IOWR(KVMIO, 0x05, struct kvm_cpuid2)`) on /dev/kvm:
 * fills a {@link KVM_CPUID2} header's entries with the CPUID leaves KVM can offer a guest and sets
 * `nent` to how many it wrote; E2BIG when `nent` is smaller than that (a `nent` above
 * {@link KVM_MAX_CPUID_ENTRIES} is taken as that many). Leaf 1 ECX bit 21 says whether KVM offers
 * x2APIC: `kvm_apic_set_base` treats the x2APIC enable bit as reserved unless the guest's CPUID has
 * it and KVM offers it (`Documentation/virt/kvm/api.rst`, `arch/x86/kvm/cpuid.c`).
 */
export const KVM_GET_SUPPORTED_CPUID: IoctlDef = kvmio.iowr('KVM_GET_SUPPORTED_CPUID', 0x05, KVM_CPUID2);
/** KVM_MAX_CPUID_ENTRIES (`arch/x86/include/asm/kvm_host.h`, not in the UAPI header): the most entries of one CPUID table. */
export const KVM_MAX_CPUID_ENTRIES = 256;
/**
 * `KVM_GET_MSRS` (0xC008AE88) on a vCPU fd: reads the MSRs named by a {@link KVM_MSRS} header and
 * its entries into their `data`; returns how many were read (it stops at the first it cannot read).
 */
export const KVM_GET_MSRS: IoctlDef = kvmio.iowr('KVM_GET_MSRS', 0x88, KVM_MSRS);
/**
 * `KVM_SET_MSRS` (0x4008AE89) on a vCPU fd: writes the MSRs of a {@link KVM_MSRS} header and its
 * entries, as the host (host-initiated); returns how many were written, stopping at the first the
 * kernel refuses (so a count below `nmsrs` is a refusal, not an errno).
 */
export const KVM_SET_MSRS: IoctlDef = kvmio.iow('KVM_SET_MSRS', 0x89, KVM_MSRS);

/**
 * `KVM_GET_IRQCHIP` (0xC208AE62) on a VM fd with a {@link KVM_IRQCHIP_LAYOUT} whose `chip_id` names
 * the chip: fills in its state (chip 2: the IOAPIC, `kvm_get_ioapic`). ENXIO without an in-kernel
 * irqchip (or with a split one), EINVAL for an unknown chip.
 */
export const KVM_GET_IRQCHIP: IoctlDef = kvmio.iowr('KVM_GET_IRQCHIP', 0x62, KVM_IRQCHIP_LAYOUT);
/**
 * `KVM_SET_IRQCHIP` (0x8208AE63: `_IOR` in the header, although it writes) with a
 * {@link KVM_IRQCHIP_LAYOUT}: replaces the chip's state; for the IOAPIC (`kvm_set_ioapic`) the
 * registers are taken as given and every pin whose `irr` bit is set is raised again.
 */
export const KVM_SET_IRQCHIP: IoctlDef = kvmio.ior('KVM_SET_IRQCHIP', 0x63, KVM_IRQCHIP_LAYOUT);

/** Every ioctl above, in one list: `test/c-abi-check.test.ts` compares each number with `<linux/kvm.h>`. */
export const KVM_IOCTLS: readonly IoctlDef[] = [
  KVM_GET_API_VERSION,
  KVM_CREATE_VM,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VCPU,
  KVM_CREATE_IRQCHIP,
  KVM_SET_GSI_ROUTING,
  KVM_IRQFD,
  KVM_SIGNAL_MSI,
  KVM_GET_LAPIC,
  KVM_SET_LAPIC,
  KVM_ENABLE_CAP,
  KVM_SET_CPUID2,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_MSRS,
  KVM_SET_MSRS,
  KVM_GET_IRQCHIP,
  KVM_SET_IRQCHIP,
];

/** Every struct layout above, in one list: the C check compares each size and offset with `<linux/kvm.h>`. */
export const KVM_LAYOUTS = [
  KVM_IRQ_ROUTING,
  KVM_IRQ_ROUTING_ENTRY,
  KVM_IRQFD_LAYOUT,
  KVM_MSI_LAYOUT,
  KVM_LAPIC_STATE,
  KVM_ENABLE_CAP_LAYOUT,
  KVM_CPUID2,
  KVM_CPUID_ENTRY2,
  KVM_MSRS,
  KVM_MSR_ENTRY,
  KVM_IRQCHIP_LAYOUT,
  KVM_IOAPIC_STATE,
] as const;

/** KVM_CHECK_EXTENSION capability numbers (`KVM_CAP_*` in `include/uapi/linux/kvm.h`). */
export const KVM_CAP = Object.freeze({
  /** In-kernel PIC, IOAPIC and local APICs (KVM_CREATE_IRQCHIP); required by this backend. */
  KVM_CAP_IRQCHIP: 0,
  /** The recommended most vCPUs per VM (the API documentation says to assume 4 if absent). */
  KVM_CAP_NR_VCPUS: 9,
  /** KVM_SET_GSI_ROUTING; reports the most entries per table (KVM_MAX_IRQ_ROUTES, 4096 today). */
  KVM_CAP_IRQ_ROUTING: 25,
  /** KVM_IRQFD. */
  KVM_CAP_IRQFD: 32,
  /** The hard most vCPUs per VM (if absent, the KVM_CAP_NR_VCPUS value). */
  KVM_CAP_MAX_VCPUS: 66,
  /** KVM_SIGNAL_MSI, used by `requestMsi` and the user-space relay. */
  KVM_CAP_SIGNAL_MSI: 77,
  /** KVM_IRQFD_FLAG_RESAMPLE (level-triggered irqfds; needs the full, not split, irqchip). */
  KVM_CAP_IRQFD_RESAMPLE: 82,
  /** The split irqchip (local APICs in the kernel, PIC and IOAPIC in user space). */
  KVM_CAP_SPLIT_IRQCHIP: 121,
  /**
   * The largest vCPU id plus one (vCPU ids, which are the initial APIC IDs, run from 0 to this
   * minus 1; 4096 on current x86 kernels). If absent, assume KVM_CAP_MAX_VCPUS (API documentation).
   */
  KVM_CAP_MAX_VCPU_ID: 128,
  /**
   * 32-bit x2APIC destination IDs in MSI `address_hi` once enabled with KVM_ENABLE_CAP; reports the
   * `KVM_X2APIC_API_*` flags this kernel accepts.
   */
  KVM_CAP_X2APIC_API: 129,
  /** MSIs may carry a device ID (`devid` with flag KVM_MSI_VALID_DEVID); probed only, this backend never sets one. */
  KVM_CAP_MSI_DEVID: 131,
});

/** `kvm_irq_routing_entry.type`: a route to an irqchip pin (PIC or IOAPIC). */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
/** `kvm_irq_routing_entry.type`: a route to an MSI (address and data). */
export const KVM_IRQ_ROUTING_MSI = 2;
/** `kvm_irqfd.flags` bit 0: deassign the irqfd matching (eventfd, gsi); 0 even when none matched. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1;
/** `kvm_irqfd.flags` bit 1: level-triggered irqfd with a resample eventfd (`resamplefd`); needs the full in-kernel irqchip. */
export const KVM_IRQFD_FLAG_RESAMPLE = 2;
/** `kvm_irq_routing_entry.u.irqchip.irqchip`: the master PIC (pins 0-7: GSIs 0-7). */
export const KVM_IRQCHIP_PIC_MASTER = 0;
/** `kvm_irq_routing_entry.u.irqchip.irqchip`: the slave PIC (pins 0-7: GSIs 8-15). */
export const KVM_IRQCHIP_PIC_SLAVE = 1;
/** `kvm_irq_routing_entry.u.irqchip.irqchip`: the IOAPIC (pins 0-23: GSIs 0-23). */
export const KVM_IRQCHIP_IOAPIC = 2;
/**
 * KVM_CAP_X2APIC_API flag (`args[0]` of KVM_ENABLE_CAP): destination IDs are 32 bits, bits 31:8
 * from MSI `address_hi` 31:8 (whose bits 7:0 must then be 0: EINVAL otherwise), and KVM_GET_LAPIC
 * / KVM_SET_LAPIC carry an x2APIC vCPU's full 32-bit ID in the APIC ID register.
 */
export const KVM_X2APIC_API_USE_32BIT_IDS = 1;
/**
 * KVM_CAP_X2APIC_API flag: an MSI to destination 0xFF is no longer a broadcast to x2APIC vCPUs
 * (without it KVM widens it to 0xFFFFFFFF, so APIC ID 255 could not be targeted alone).
 */
export const KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK = 2;
/** `struct kvm_cpuid_entry2.flags`: the leaf depends on `index` (ECX in). */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;
/** The IA32_APIC_BASE MSR (Intel SDM "Local APIC Status and Location"): base 0xFEE00000, bit 8 BSP, bit 10 x2APIC enable (EXTD), bit 11 APIC global enable (EN). */
export const MSR_IA32_APICBASE = 0x1b;
/** IA32_APIC_BASE bit 8: this is the bootstrap processor. */
export const MSR_IA32_APICBASE_BSP = 0x100;
/** IA32_APIC_BASE bit 10 (EXTD): x2APIC mode; needs {@link MSR_IA32_APICBASE_ENABLE} and the x2APIC CPUID bit. */
export const MSR_IA32_APICBASE_EXTD = 0x400;
/** IA32_APIC_BASE bit 11 (EN): the local APIC is enabled. */
export const MSR_IA32_APICBASE_ENABLE = 0x800;
/** CPUID leaf 1 ECX bit 21: the processor has an x2APIC (Intel SDM, CPUID "Feature Information"). */
export const CPUID_1_ECX_X2APIC = 1 << 21;

/** KVM_MAX_IRQ_ROUTES on current kernels; KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) reports it. */
export const KVM_MAX_IRQ_ROUTES = 4096;

/** Constants the C check compares with the header. */
export const KVM_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  KVM_API_VERSION,
  ...KVM_CAP,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_IRQCHIP_IOAPIC,
  KVM_X2APIC_API_USE_32BIT_IDS,
  KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
  KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
});

/**
 * Byte offset of the APIC ID register in the KVM_GET_LAPIC page (architectural xAPIC layout,
 * Intel SDM "Local APIC Register Address Map"); in xAPIC mode the ID is in bits 31:24. For an
 * x2APIC vCPU, KVM shows the 32-bit ID whole once KVM_X2APIC_API_USE_32BIT_IDS is enabled
 * (`kvm_apic_state_fixup`; without it, shifted left by 24 as an xAPIC ID would be).
 */
export const LAPIC_ID = 0x20;
/**
 * Byte offset of the logical destination register (LDR): the xAPIC logical ID in bits 31:24; in
 * x2APIC mode KVM derives it from the x2APIC ID (cluster in 31:16, one bit in 15:0,
 * `kvm_apic_calc_x2apic_ldr`) and leaves it when the vCPU returns to xAPIC mode.
 */
export const LAPIC_LDR = 0xd0;
/** Byte offset of the destination format register (DFR): 0xFFFFFFFF flat model, 0x0FFFFFFF cluster model (xAPIC only). */
export const LAPIC_DFR = 0xe0;
/** Byte offset of the spurious-interrupt vector register (SVR); bit 8 is {@link LAPIC_SVR_ENABLE}. */
export const LAPIC_SVR = 0xf0;
/** SVR bit 8 (a mask, not an offset): APIC software enable. KVM's reset state has it clear (SVR 0xFF). */
export const LAPIC_SVR_ENABLE = 0x100;
/**
 * Byte offset of the in-service register (ISR): 256 bits as 8 u32 words 16 bytes apart; vector v is
 * bit `v % 32` of the word at `LAPIC_ISR + (v >> 5) * 16`.
 */
export const LAPIC_ISR = 0x100;
/** Byte offset of the trigger-mode register (TMR), laid out as {@link LAPIC_ISR}; a set bit means level-triggered. */
export const LAPIC_TMR = 0x180;
/** Byte offset of the interrupt-request register (IRR), laid out as {@link LAPIC_ISR}: where an accepted MSI's vector shows. */
export const LAPIC_IRR = 0x200;
