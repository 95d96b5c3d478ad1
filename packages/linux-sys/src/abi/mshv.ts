/**
 * The upstream `/dev/mshv` ABI (x86_64, `include/uapi/linux/mshv.h`, Linux 6.15+) that the mshv
 * backend will use: ioctl numbers, layouts and constants, each defined once. Debian's headers
 * predate it, so `test/mshv-abi.test.ts` checks these against the numbers and byte offsets of
 * `../shared/reference/mshv.md` instead of a C compiler. The older out-of-tree ABI (other
 * numbers) is deliberately not here.
 */
import { type IoctlDef, _IO, _IOW, _IOWR, defineIoctl } from '../ioctl';
import { defineLayout } from '@tsvmm/ffi';

export const MSHV_IOCTL = 0xb8;

export const MSHV_CREATE_PARTITION_LAYOUT = defineLayout('struct mshv_create_partition', 16, {
  ptFlags: { offset: 0, type: 'u64', c: 'pt_flags' },
  ptIsolation: { offset: 8, type: 'u64', c: 'pt_isolation' },
});

export const MSHV_CREATE_VP_LAYOUT = defineLayout('struct mshv_create_vp', 4, {
  vpIndex: { offset: 0, type: 'u32', c: 'vp_index' },
});

/** Note the field order differs from `struct kvm_irqfd` (fd, gsi, flags, resamplefd), and there is no padding. */
export const MSHV_USER_IRQFD = defineLayout('struct mshv_user_irqfd', 16, {
  fd: { offset: 0, type: 'i32' },
  resamplefd: { offset: 4, type: 'i32' },
  gsi: { offset: 8, type: 'u32' },
  flags: { offset: 12, type: 'u32' },
});

export const MSHV_USER_IRQ_TABLE = defineLayout('struct mshv_user_irq_table', 8, {
  nr: { offset: 0, type: 'u32' },
  rsvd: { offset: 4, type: 'u32' },
});

export const MSHV_USER_IRQ_ENTRY = defineLayout('struct mshv_user_irq_entry', 16, {
  gsi: { offset: 0, type: 'u32' },
  addressLo: { offset: 4, type: 'u32', c: 'address_lo' },
  addressHi: { offset: 8, type: 'u32', c: 'address_hi' },
  data: { offset: 12, type: 'u32' },
});

export const MSHV_CREATE_PARTITION: IoctlDef = defineIoctl('MSHV_CREATE_PARTITION', _IOW(MSHV_IOCTL, 0x00, MSHV_CREATE_PARTITION_LAYOUT.size));
export const MSHV_INITIALIZE_PARTITION: IoctlDef = defineIoctl('MSHV_INITIALIZE_PARTITION', _IO(MSHV_IOCTL, 0x00));
export const MSHV_CREATE_VP: IoctlDef = defineIoctl('MSHV_CREATE_VP', _IOW(MSHV_IOCTL, 0x01, MSHV_CREATE_VP_LAYOUT.size));
export const MSHV_IRQFD: IoctlDef = defineIoctl('MSHV_IRQFD', _IOW(MSHV_IOCTL, 0x03, MSHV_USER_IRQFD.size));
export const MSHV_SET_MSI_ROUTING: IoctlDef = defineIoctl('MSHV_SET_MSI_ROUTING', _IOW(MSHV_IOCTL, 0x05, MSHV_USER_IRQ_TABLE.size));
/** `struct mshv_root_hvcall` is 32 bytes; only its size is needed for the number until a hypercall is used. */
export const MSHV_ROOT_HVCALL: IoctlDef = defineIoctl('MSHV_ROOT_HVCALL', _IOWR(MSHV_IOCTL, 0x07, 32));

export const MSHV_IOCTLS: readonly IoctlDef[] = [
  MSHV_CREATE_PARTITION,
  MSHV_INITIALIZE_PARTITION,
  MSHV_CREATE_VP,
  MSHV_IRQFD,
  MSHV_SET_MSI_ROUTING,
  MSHV_ROOT_HVCALL,
];

export const MSHV_LAYOUTS = [MSHV_CREATE_PARTITION_LAYOUT, MSHV_CREATE_VP_LAYOUT, MSHV_USER_IRQFD, MSHV_USER_IRQ_TABLE, MSHV_USER_IRQ_ENTRY] as const;

export const MSHV_PT_BIT_LAPIC = 1n << 0n;
export const MSHV_PT_BIT_X2APIC = 1n << 1n;
export const MSHV_PT_BIT_GPA_SUPER_PAGES = 1n << 2n;
export const MSHV_PT_ISOLATION_NONE = 0n;
export const MSHV_IRQFD_FLAG_DEASSIGN = 1;
export const MSHV_IRQFD_FLAG_RESAMPLE = 2;
/** Most entries in one MSHV_SET_MSI_ROUTING table, and the bound on every gsi. */
export const MSHV_MAX_MSI_ROUTES = 4096;
/** VP indexes must be below this. */
export const MSHV_MAX_VPS = 256;
