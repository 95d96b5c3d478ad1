/**
 * The VFIO and iommufd userspace ABI (x86_64) that tsvmm uses: ioctl numbers, struct layouts and
 * constants, each defined once. `test/c-abi-check.test.ts` of this package compiles a C program
 * against the installed `<linux/vfio.h>` (and `<linux/iommufd.h>` where it is installed) and compares
 * every value here with it.
 *
 * Sources: UAPI `include/uapi/linux/vfio.h` and `include/uapi/linux/iommufd.h`. Every VFIO and
 * iommufd ioctl is `_IO(';', nr)`: no size or direction bits, structs go by pointer and carry their
 * own size in their first u32 (`argsz` / `size`).
 */
import { type IoctlDef, ioctlFamily } from '@tsvmm/linux-sys';
import { defineStruct, defineTable, embedLayout } from '@tsvmm/ffi';

/** The ioctl type byte of every VFIO and iommufd ioctl (`VFIO_TYPE`, `';'`, and `IOMMUFD_TYPE`). */
export const VFIO_TYPE = 0x3b;
/** The first VFIO ioctl number (`VFIO_BASE`). */
export const VFIO_BASE = 100;
/** What VFIO_GET_API_VERSION returns (`VFIO_API_VERSION`, vfio.h). */
export const VFIO_API_VERSION = 0;

// ---- layouts ----------------------------------------------------------------------------------

/**
 * The two u32 members that open every VFIO ioctl struct, `argsz` @0 (the bytes the caller passes;
 * for info with capabilities, out: the bytes the whole chain needs) and `flags` @4: vfio.h embeds
 * "the structure length (argsz) and flags" in each so that a struct can grow.
 */
const ARGSZ_FLAGS = { argsz: 'u32', flags: 'u32' } as const;

/**
 * `struct vfio_info_cap_header` (8 bytes), the head of every capability in an info buffer: `id` u16
 * @0, `version` u16 @2, `next` u32 @4 = offset of the next capability from the start of the info
 * buffer (0 ends the chain).
 */
export const VFIO_INFO_CAP_HEADER = defineStruct('struct vfio_info_cap_header', {
  id: 'u16',
  version: 'u16',
  next: 'u32',
});

/** `struct vfio_group_status` (8 bytes), the VFIO_GROUP_GET_STATUS argument: `argsz` @0, `flags` @4 (out: {@link VFIO_GROUP_FLAGS_VIABLE}, {@link VFIO_GROUP_FLAGS_CONTAINER_SET}). */
export const VFIO_GROUP_STATUS = defineStruct('struct vfio_group_status', {
  ...ARGSZ_FLAGS,
});

/**
 * `struct vfio_device_info` as the installed 6.1 header has it (20 bytes): `argsz` @0, `flags` @4
 * (`VFIO_DEVICE_FLAGS_*`), `num_regions` @8, `num_irqs` @12, `cap_offset` @16. Linux 6.6 appended
 * a `pad` u32 (24 bytes); the kernel accepts any `argsz` of at least 16.
 */
export const VFIO_DEVICE_INFO = defineStruct('struct vfio_device_info', {
  ...ARGSZ_FLAGS,
  numRegions: 'u32',
  numIrqs: 'u32',
  capOffset: 'u32',
});

/**
 * `struct vfio_region_info` (32 bytes), the VFIO_DEVICE_GET_REGION_INFO argument: `argsz` @0 (in:
 * the buffer's size; out: the size the capability chain needs), `flags` @4, `index` @8 (in),
 * `cap_offset` @12 (0 when the chain did not fit), `size` u64 @16 (bytes), `offset` u64 @24 (the
 * region's opaque offset in the device fd, for pread, pwrite and mmap).
 */
export const VFIO_REGION_INFO = defineStruct('struct vfio_region_info', {
  ...ARGSZ_FLAGS,
  index: 'u32',
  capOffset: 'u32',
  size: 'u64',
  offset: 'u64',
});

/**
 * The `header` member ({@link VFIO_INFO_CAP_HEADER}) that opens every capability struct below, at
 * byte 0: its fields `header.id`, `header.version` and `header.next`, taken from that layout.
 */
const CAP_HEADER_FIELDS = embedLayout('header', VFIO_INFO_CAP_HEADER, 0).fields;

/**
 * `struct vfio_region_info_cap_sparse_mmap` without its flexible array (16 bytes): the header, then
 * `nr_areas` @8 and `reserved` @12; `nr_areas` {@link VFIO_REGION_SPARSE_MMAP_AREA} entries follow @16.
 */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP = defineStruct('struct vfio_region_info_cap_sparse_mmap', {
  ...CAP_HEADER_FIELDS,
  nrAreas: 'u32',
  reserved: 'u32',
});

/** `struct vfio_region_sparse_mmap_area` (16 bytes): `offset` u64 @0 inside the region, `size` u64 @8, both bytes. */
export const VFIO_REGION_SPARSE_MMAP_AREA = defineStruct('struct vfio_region_sparse_mmap_area', {
  offset: 'u64',
  size: 'u64',
});

/** The sparse mmap capability with its `nr_areas` {@link VFIO_REGION_SPARSE_MMAP_AREA} entries from byte 16. */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP_TABLE = defineTable({ header: VFIO_REGION_INFO_CAP_SPARSE_MMAP, entry: VFIO_REGION_SPARSE_MMAP_AREA, countField: 'nrAreas' });

/** `struct vfio_region_info_cap_type` (16 bytes): the header, `type` @8, `subtype` @12 (device-specific regions). */
export const VFIO_REGION_INFO_CAP_TYPE_LAYOUT = defineStruct('struct vfio_region_info_cap_type', {
  ...CAP_HEADER_FIELDS,
  type: 'u32',
  subtype: 'u32',
});

/**
 * `struct vfio_irq_info` (16 bytes), the VFIO_DEVICE_GET_IRQ_INFO argument: `argsz` @0, `flags` @4
 * (out: `VFIO_IRQ_INFO_*`), `index` @8 (in: a `VFIO_PCI_*_IRQ_INDEX`), `count` @12 (out: vectors).
 */
export const VFIO_IRQ_INFO = defineStruct('struct vfio_irq_info', {
  ...ARGSZ_FLAGS,
  index: 'u32',
  count: 'u32',
});

/**
 * `struct vfio_irq_set` without its data (20 bytes), the head of the VFIO_DEVICE_SET_IRQS argument:
 * `argsz` @0 (20 + data bytes), `flags` @4 (one `VFIO_IRQ_SET_DATA_*` and one
 * `VFIO_IRQ_SET_ACTION_*`), `index` @8, `start` @12, `count` @16; data @20 is nothing (DATA_NONE),
 * `count` u8 (DATA_BOOL) or `count` s32 fds (DATA_EVENTFD, -1 = unbind).
 */
export const VFIO_IRQ_SET = defineStruct('struct vfio_irq_set', {
  ...ARGSZ_FLAGS,
  index: 'u32',
  start: 'u32',
  count: 'u32',
});

/**
 * `struct vfio_iommu_type1_info` (24 bytes), the VFIO_IOMMU_GET_INFO argument: `argsz` @0 (at least
 * 16; 24 for capabilities), `flags` @4, `iova_pgsizes` u64 @8 (bitmap of page sizes: the lowest set
 * bit is the MAP/UNMAP granule), `cap_offset` @16, then 4 bytes of padding.
 */
export const VFIO_IOMMU_TYPE1_INFO = defineStruct('struct vfio_iommu_type1_info', {
  ...ARGSZ_FLAGS,
  iovaPgsizes: 'u64',
  capOffset: 'u32',
});

/**
 * `struct vfio_iommu_type1_info_cap_iova_range` without its array (16 bytes): the header, `nr_iovas`
 * @8, `reserved` @12; `nr_iovas` {@link VFIO_IOVA_RANGE} entries follow @16.
 */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_LAYOUT = defineStruct('struct vfio_iommu_type1_info_cap_iova_range', {
  ...CAP_HEADER_FIELDS,
  nrIovas: 'u32',
  reserved: 'u32',
});

/** `struct vfio_iova_range` (16 bytes): `start` u64 @0, `end` u64 @8, inclusive. */
export const VFIO_IOVA_RANGE = defineStruct('struct vfio_iova_range', {
  start: 'u64',
  end: 'u64',
});

/** The IOVA range capability with its `nr_iovas` {@link VFIO_IOVA_RANGE} entries from byte 16. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_TABLE = defineTable({ header: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_LAYOUT, entry: VFIO_IOVA_RANGE, countField: 'nrIovas' });

/** `struct vfio_iommu_type1_info_dma_avail` (12 bytes): the header, `avail` @8 (DMA mappings the container may still make). */
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_LAYOUT = defineStruct('struct vfio_iommu_type1_info_dma_avail', {
  ...CAP_HEADER_FIELDS,
  avail: 'u32',
});

/**
 * `struct vfio_iommu_type1_dma_map` (32 bytes), the VFIO_IOMMU_MAP_DMA argument: `argsz` @0,
 * `flags` @4 ({@link VFIO_DMA_MAP_FLAG_READ} | {@link VFIO_DMA_MAP_FLAG_WRITE}), `vaddr` u64 @8
 * (process address), `iova` u64 @16, `size` u64 @24 (bytes, a granule multiple).
 */
export const VFIO_IOMMU_TYPE1_DMA_MAP = defineStruct('struct vfio_iommu_type1_dma_map', {
  ...ARGSZ_FLAGS,
  vaddr: 'u64',
  iova: 'u64',
  size: 'u64',
});

/**
 * `struct vfio_iommu_type1_dma_unmap` without its data (24 bytes), the VFIO_IOMMU_UNMAP_DMA
 * argument: `argsz` @0, `flags` @4, `iova` u64 @8, `size` u64 @16 (in: bytes; out: bytes unmapped).
 */
export const VFIO_IOMMU_TYPE1_DMA_UNMAP = defineStruct('struct vfio_iommu_type1_dma_unmap', {
  ...ARGSZ_FLAGS,
  iova: 'u64',
  size: 'u64',
});

/** Every layout of the installed 6.1 `<linux/vfio.h>`, in one list: the C check compares each size, offset and width. */
export const VFIO_LAYOUTS = [
  VFIO_INFO_CAP_HEADER,
  VFIO_GROUP_STATUS,
  VFIO_DEVICE_INFO,
  VFIO_REGION_INFO,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_SPARSE_MMAP_AREA,
  VFIO_REGION_INFO_CAP_TYPE_LAYOUT,
  VFIO_IRQ_INFO,
  VFIO_IRQ_SET,
  VFIO_IOMMU_TYPE1_INFO,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_LAYOUT,
  VFIO_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_LAYOUT,
  VFIO_IOMMU_TYPE1_DMA_MAP,
  VFIO_IOMMU_TYPE1_DMA_UNMAP,
] as const;

// ---- cdev + iommufd layouts (Linux 6.6 / 6.2; not in the 6.1 header) ---------------------------

/**
 * `struct vfio_device_bind_iommufd`, 6.6 form (16 bytes), the VFIO_DEVICE_BIND_IOMMUFD argument:
 * `argsz` @0, `flags` @4 (0), `iommufd` s32 @8, `out_devid` @12 (out). ≈6.17 appended
 * `token_uuid_ptr` u64 @16, used only with flag 1; the 16-byte form keeps working.
 */
export const VFIO_DEVICE_BIND_IOMMUFD_LAYOUT = defineStruct('struct vfio_device_bind_iommufd', {
  ...ARGSZ_FLAGS,
  iommufd: 'i32',
  outDevid: 'u32',
});

/**
 * `struct vfio_device_attach_iommufd_pt`, 6.6 form (12 bytes): `argsz` @0, `flags` @4 (0), `pt_id`
 * @8 (in: an IOAS id; out: the hardware page table id). ≈6.15 appended `pasid` @12 (flag 1).
 */
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT_LAYOUT = defineStruct('struct vfio_device_attach_iommufd_pt', {
  ...ARGSZ_FLAGS,
  ptId: 'u32',
});

/** `struct vfio_device_detach_iommufd_pt`, 6.6 form (8 bytes): `argsz` @0, `flags` @4 (0). */
export const VFIO_DEVICE_DETACH_IOMMUFD_PT_LAYOUT = defineStruct('struct vfio_device_detach_iommufd_pt', {
  ...ARGSZ_FLAGS,
});

/** `struct iommu_destroy` (8 bytes), the IOMMU_DESTROY argument: `size` @0, `id` @4 (an IOAS or other iommufd object). */
export const IOMMU_DESTROY_LAYOUT = defineStruct('struct iommu_destroy', {
  size: 'u32',
  id: 'u32',
});

/** `struct iommu_ioas_alloc` (12 bytes): `size` @0, `flags` @4 (0), `out_ioas_id` @8 (out). */
export const IOMMU_IOAS_ALLOC_LAYOUT = defineStruct('struct iommu_ioas_alloc', {
  size: 'u32',
  flags: 'u32',
  outIoasId: 'u32',
});

/**
 * `struct iommu_ioas_map` (40 bytes): `size` @0, `flags` @4 (`IOMMU_IOAS_MAP_*`), `ioas_id` @8,
 * `__reserved` @12 (0), `user_va` u64 @16, `length` u64 @24 (bytes), `iova` u64 @32 (in with
 * {@link IOMMU_IOAS_MAP_FIXED_IOVA}, else out).
 */
export const IOMMU_IOAS_MAP_LAYOUT = defineStruct('struct iommu_ioas_map', {
  size: 'u32',
  flags: 'u32',
  ioasId: 'u32',
  reserved: { type: 'u32', c: '__reserved' },
  userVa: 'u64',
  length: 'u64',
  iova: 'u64',
});

/** `struct iommu_ioas_unmap` (24 bytes): `size` @0, `ioas_id` @4, `iova` u64 @8, `length` u64 @16 (in/out: bytes unmapped). */
export const IOMMU_IOAS_UNMAP_LAYOUT = defineStruct('struct iommu_ioas_unmap', {
  size: 'u32',
  ioasId: 'u32',
  iova: 'u64',
  length: 'u64',
});

/**
 * `struct iommu_ioas_iova_ranges` (32 bytes): `size` @0, `ioas_id` @4, `num_iovas` @8 (in: entries
 * the buffer holds; out: entries there are, EMSGSIZE when more), `__reserved` @12, `allowed_iovas`
 * u64 @16 (a user pointer to {@link IOMMU_IOVA_RANGE} entries), `out_iova_alignment` u64 @24.
 */
export const IOMMU_IOAS_IOVA_RANGES_LAYOUT = defineStruct('struct iommu_ioas_iova_ranges', {
  size: 'u32',
  ioasId: 'u32',
  numIovas: 'u32',
  reserved: { type: 'u32', c: '__reserved' },
  allowedIovas: 'u64',
  outIovaAlignment: 'u64',
});

/** `struct iommu_iova_range` (16 bytes): `start` u64 @0, `last` u64 @8, inclusive. */
export const IOMMU_IOVA_RANGE = defineStruct('struct iommu_iova_range', {
  start: 'u64',
  last: 'u64',
});

/** The cdev layouts, in `<linux/vfio.h>` from Linux 6.6: checked only against a header that has them. */
export const VFIO_CDEV_LAYOUTS = [VFIO_DEVICE_BIND_IOMMUFD_LAYOUT, VFIO_DEVICE_ATTACH_IOMMUFD_PT_LAYOUT, VFIO_DEVICE_DETACH_IOMMUFD_PT_LAYOUT] as const;
/** The iommufd layouts, in `<linux/iommufd.h>` from Linux 6.2: checked only where that header is installed. */
export const IOMMUFD_LAYOUTS = [IOMMU_DESTROY_LAYOUT, IOMMU_IOAS_ALLOC_LAYOUT, IOMMU_IOAS_MAP_LAYOUT, IOMMU_IOAS_UNMAP_LAYOUT, IOMMU_IOAS_IOVA_RANGES_LAYOUT, IOMMU_IOVA_RANGE] as const;

// ---- ioctls -----------------------------------------------------------------------------------

const vfio = ioctlFamily(VFIO_TYPE, VFIO_BASE);

/** `VFIO_GET_API_VERSION` (0x3B64) on /dev/vfio/vfio: no argument; returns {@link VFIO_API_VERSION}. */
export const VFIO_GET_API_VERSION = vfio.io('VFIO_GET_API_VERSION', 0);
/** `VFIO_CHECK_EXTENSION` (0x3B65) on a container: the extension number by value; > 0 = supported. */
export const VFIO_CHECK_EXTENSION = vfio.io('VFIO_CHECK_EXTENSION', 1);
/** `VFIO_SET_IOMMU` (0x3B66) on a container, after a group is attached: the IOMMU type by value. EINVAL (no group, already set), ENODEV (type unsupported), EPERM (no interrupt remapping). */
export const VFIO_SET_IOMMU = vfio.io('VFIO_SET_IOMMU', 2);
/** `VFIO_GROUP_GET_STATUS` (0x3B67) on a group, with a {@link VFIO_GROUP_STATUS}. */
export const VFIO_GROUP_GET_STATUS = vfio.io('VFIO_GROUP_GET_STATUS', 3);
/** `VFIO_GROUP_SET_CONTAINER` (0x3B68) on a group: a pointer to the s32 container (or iommufd) fd. */
export const VFIO_GROUP_SET_CONTAINER = vfio.io('VFIO_GROUP_SET_CONTAINER', 4);
/** `VFIO_GROUP_UNSET_CONTAINER` (0x3B69) on a group: no argument. */
export const VFIO_GROUP_UNSET_CONTAINER = vfio.io('VFIO_GROUP_UNSET_CONTAINER', 5);
/** `VFIO_GROUP_GET_DEVICE_FD` (0x3B6A) on a group: a NUL-terminated device name (`dddd:bb:dd.f`); returns a close-on-exec device fd. */
export const VFIO_GROUP_GET_DEVICE_FD = vfio.io('VFIO_GROUP_GET_DEVICE_FD', 6);
/** `VFIO_DEVICE_GET_INFO` (0x3B6B) on a device, with a {@link VFIO_DEVICE_INFO}. */
export const VFIO_DEVICE_GET_INFO = vfio.io('VFIO_DEVICE_GET_INFO', 7);
/** `VFIO_DEVICE_GET_REGION_INFO` (0x3B6C) on a device, with a {@link VFIO_REGION_INFO} (and room for capabilities). */
export const VFIO_DEVICE_GET_REGION_INFO = vfio.io('VFIO_DEVICE_GET_REGION_INFO', 8);
/** `VFIO_DEVICE_GET_IRQ_INFO` (0x3B6D) on a device, with a {@link VFIO_IRQ_INFO}. */
export const VFIO_DEVICE_GET_IRQ_INFO = vfio.io('VFIO_DEVICE_GET_IRQ_INFO', 9);
/** `VFIO_DEVICE_SET_IRQS` (0x3B6E) on a device, with a {@link VFIO_IRQ_SET} and its data. May return a positive count (fewer MSI/MSI-X vectors than asked). */
export const VFIO_DEVICE_SET_IRQS = vfio.io('VFIO_DEVICE_SET_IRQS', 10);
/** `VFIO_DEVICE_RESET` (0x3B6F) on a device: no argument. EINVAL without VFIO_DEVICE_FLAGS_RESET, EAGAIN when the device lock is busy. */
export const VFIO_DEVICE_RESET = vfio.io('VFIO_DEVICE_RESET', 11);
/** `VFIO_IOMMU_GET_INFO` (0x3B70) on a container, with a {@link VFIO_IOMMU_TYPE1_INFO}. */
export const VFIO_IOMMU_GET_INFO = vfio.io('VFIO_IOMMU_GET_INFO', 12);
/** `VFIO_IOMMU_MAP_DMA` (0x3B71) on a container, with a {@link VFIO_IOMMU_TYPE1_DMA_MAP}. */
export const VFIO_IOMMU_MAP_DMA = vfio.io('VFIO_IOMMU_MAP_DMA', 13);
/** `VFIO_IOMMU_UNMAP_DMA` (0x3B72) on a container, with a {@link VFIO_IOMMU_TYPE1_DMA_UNMAP}. */
export const VFIO_IOMMU_UNMAP_DMA = vfio.io('VFIO_IOMMU_UNMAP_DMA', 14);

/** Every ioctl of the installed 6.1 `<linux/vfio.h>` above: the C check compares each number. */
export const VFIO_IOCTLS: readonly IoctlDef[] = [
  VFIO_GET_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_SET_IOMMU,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_SET_IRQS,
  VFIO_DEVICE_RESET,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
];

/** `VFIO_DEVICE_BIND_IOMMUFD` (0x3B76, Linux 6.6) on a device cdev, with a {@link VFIO_DEVICE_BIND_IOMMUFD_LAYOUT}. */
export const VFIO_DEVICE_BIND_IOMMUFD = vfio.io('VFIO_DEVICE_BIND_IOMMUFD', 18);
/** `VFIO_DEVICE_ATTACH_IOMMUFD_PT` (0x3B77, Linux 6.6) on a bound cdev, with a {@link VFIO_DEVICE_ATTACH_IOMMUFD_PT_LAYOUT}. */
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = vfio.io('VFIO_DEVICE_ATTACH_IOMMUFD_PT', 19);
/** `VFIO_DEVICE_DETACH_IOMMUFD_PT` (0x3B78, Linux 6.6) on a bound cdev, with a {@link VFIO_DEVICE_DETACH_IOMMUFD_PT_LAYOUT}. */
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = vfio.io('VFIO_DEVICE_DETACH_IOMMUFD_PT', 20);

/** The cdev ioctls (Linux 6.6): checked only against a header that has them. */
export const VFIO_CDEV_IOCTLS: readonly IoctlDef[] = [VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_DETACH_IOMMUFD_PT];

/** The first iommufd command number (`IOMMUFD_CMD_BASE`, iommufd.h). */
export const IOMMUFD_CMD_BASE = 0x80;
const iommufd = ioctlFamily(VFIO_TYPE, IOMMUFD_CMD_BASE);

/** `IOMMU_DESTROY` (0x3B80) on /dev/iommu, with a {@link IOMMU_DESTROY_LAYOUT}. */
export const IOMMU_DESTROY = iommufd.io('IOMMU_DESTROY', 0);
/** `IOMMU_IOAS_ALLOC` (0x3B81) on /dev/iommu, with a {@link IOMMU_IOAS_ALLOC_LAYOUT}. */
export const IOMMU_IOAS_ALLOC = iommufd.io('IOMMU_IOAS_ALLOC', 1);
/** `IOMMU_IOAS_IOVA_RANGES` (0x3B84) on /dev/iommu, with a {@link IOMMU_IOAS_IOVA_RANGES_LAYOUT}. */
export const IOMMU_IOAS_IOVA_RANGES = iommufd.io('IOMMU_IOAS_IOVA_RANGES', 4);
/** `IOMMU_IOAS_MAP` (0x3B85) on /dev/iommu, with a {@link IOMMU_IOAS_MAP_LAYOUT}. */
export const IOMMU_IOAS_MAP = iommufd.io('IOMMU_IOAS_MAP', 5);
/** `IOMMU_IOAS_UNMAP` (0x3B86) on /dev/iommu, with a {@link IOMMU_IOAS_UNMAP_LAYOUT}. */
export const IOMMU_IOAS_UNMAP = iommufd.io('IOMMU_IOAS_UNMAP', 6);

/** The iommufd ioctls (`<linux/iommufd.h>`, Linux 6.2): checked only where that header is installed. */
export const IOMMUFD_IOCTLS: readonly IoctlDef[] = [IOMMU_DESTROY, IOMMU_IOAS_ALLOC, IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP];

// ---- constants --------------------------------------------------------------------------------

/** VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU numbers (vfio.h). */
export const VFIO_EXTENSION = Object.freeze({
  /** The type1 IOMMU driver. */
  VFIO_TYPE1_IOMMU: 1,
  /** Type1 v2: unmaps must not split a mapping; the type tsvmm sets. */
  VFIO_TYPE1v2_IOMMU: 3,
  /** The IOMMU enforces DMA cache coherence. */
  VFIO_DMA_CC_IOMMU: 4,
  /** The unsafe no-IOMMU mode (`vfio.enable_unsafe_noiommu_mode=1`): 1 only in that mode. */
  VFIO_NOIOMMU_IOMMU: 8,
  /** VFIO_DMA_UNMAP_FLAG_ALL. */
  VFIO_UNMAP_ALL: 9,
  /** VFIO_DMA_MAP_FLAG_VADDR / VFIO_DMA_UNMAP_FLAG_VADDR. */
  VFIO_UPDATE_VADDR: 10,
});

/** `vfio_group_status.flags` bit 0: no device of the IOMMU group is held by a DMA-owning host driver. */
export const VFIO_GROUP_FLAGS_VIABLE = 1;
/** `vfio_group_status.flags` bit 1: the group is attached to a container. */
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 2;
/** `vfio_device_info.flags`: the device supports VFIO_DEVICE_RESET (the reset tried at open worked). */
export const VFIO_DEVICE_FLAGS_RESET = 1;
/** `vfio_device_info.flags`: a vfio-pci device. */
export const VFIO_DEVICE_FLAGS_PCI = 2;
/** `vfio_device_info.flags`: the info has a capability chain. */
export const VFIO_DEVICE_FLAGS_CAPS = 0x80;
/** `vfio_region_info.flags`: the region can be read (pread). */
export const VFIO_REGION_INFO_FLAG_READ = 1;
/** `vfio_region_info.flags`: the region can be written (pwrite). */
export const VFIO_REGION_INFO_FLAG_WRITE = 2;
/** `vfio_region_info.flags`: the region can be mmapped (MAP_SHARED). */
export const VFIO_REGION_INFO_FLAG_MMAP = 4;
/** `vfio_region_info.flags`: the info has a capability chain (at `cap_offset`, or `argsz` says how much room it needs). */
export const VFIO_REGION_INFO_FLAG_CAPS = 8;
/** Region capability id: sparse mmap areas ({@link VFIO_REGION_INFO_CAP_SPARSE_MMAP}). */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP_ID = 1;
/** Region capability id: region type and subtype. */
export const VFIO_REGION_INFO_CAP_TYPE = 2;
/** Region capability id: the MSI-X table may be mmapped with the rest of its BAR (Linux ≥ 4.16). */
export const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
/** `vfio_irq_info.flags`: the index takes eventfds. */
export const VFIO_IRQ_INFO_EVENTFD = 1;
/** `vfio_irq_info.flags`: the index can be masked (INTx). */
export const VFIO_IRQ_INFO_MASKABLE = 2;
/** `vfio_irq_info.flags`: the kernel masks the line on each interrupt (INTx); an unmask re-arms it. */
export const VFIO_IRQ_INFO_AUTOMASKED = 4;
/** `vfio_irq_info.flags`: vectors cannot be added while the index is enabled (disable and re-enable to grow). */
export const VFIO_IRQ_INFO_NORESIZE = 8;
/** `vfio_irq_set.flags`: no data. */
export const VFIO_IRQ_SET_DATA_NONE = 1;
/** `vfio_irq_set.flags`: `count` u8 booleans. */
export const VFIO_IRQ_SET_DATA_BOOL = 2;
/** `vfio_irq_set.flags`: `count` s32 eventfds (-1 unbinds). */
export const VFIO_IRQ_SET_DATA_EVENTFD = 4;
/** `vfio_irq_set.flags`: mask (INTx only). */
export const VFIO_IRQ_SET_ACTION_MASK = 8;
/** `vfio_irq_set.flags`: unmask (INTx only); with DATA_EVENTFD, an eventfd that unmasks when signalled (resample). */
export const VFIO_IRQ_SET_ACTION_UNMASK = 0x10;
/** `vfio_irq_set.flags`: bind trigger eventfds (DATA_EVENTFD), or signal them (DATA_NONE / DATA_BOOL). */
export const VFIO_IRQ_SET_ACTION_TRIGGER = 0x20;
/** `vfio_iommu_type1_info.flags`: `iova_pgsizes` is valid. */
export const VFIO_IOMMU_INFO_PGSIZES = 1;
/** `vfio_iommu_type1_info.flags`: the info has a capability chain. */
export const VFIO_IOMMU_INFO_CAPS = 2;
/** Type1 info capability id: usable IOVA ranges. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
/** Type1 info capability id: DMA mappings left. */
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
/** `vfio_iommu_type1_dma_map.flags`: the device may read the mapping. */
export const VFIO_DMA_MAP_FLAG_READ = 1;
/** `vfio_iommu_type1_dma_map.flags`: the device may write the mapping. */
export const VFIO_DMA_MAP_FLAG_WRITE = 2;
/** `vfio_iommu_type1_dma_unmap.flags`: unmap everything (iova and size 0). */
export const VFIO_DMA_UNMAP_FLAG_ALL = 2;

/** vfio-pci region indexes (`VFIO_PCI_*_REGION_INDEX`): BAR0-5 are 0-5. */
export const VFIO_PCI_REGION = Object.freeze({
  /** BAR 0; BAR n is n. */
  VFIO_PCI_BAR0_REGION_INDEX: 0,
  /** BAR 5. */
  VFIO_PCI_BAR5_REGION_INDEX: 5,
  /** The expansion ROM (read only). */
  VFIO_PCI_ROM_REGION_INDEX: 6,
  /** Configuration space (256 bytes, or 4096 for PCI Express). */
  VFIO_PCI_CONFIG_REGION_INDEX: 7,
  /** Legacy VGA ranges (VGA-class devices only). */
  VFIO_PCI_VGA_REGION_INDEX: 8,
  /** The number of fixed region indexes. */
  VFIO_PCI_NUM_REGIONS: 9,
});

/** vfio-pci interrupt indexes (`VFIO_PCI_*_IRQ_INDEX`). */
export const VFIO_PCI_IRQ = Object.freeze({
  /** The legacy INTx line (level-triggered, automasked). */
  VFIO_PCI_INTX_IRQ_INDEX: 0,
  /** Plain MSI. */
  VFIO_PCI_MSI_IRQ_INDEX: 1,
  /** MSI-X. */
  VFIO_PCI_MSIX_IRQ_INDEX: 2,
  /** PCI Express AER error reporting. */
  VFIO_PCI_ERR_IRQ_INDEX: 3,
  /** Device release requests from the host. */
  VFIO_PCI_REQ_IRQ_INDEX: 4,
  /** The number of interrupt indexes. */
  VFIO_PCI_NUM_IRQS: 5,
});

/** `iommu_ioas_map.flags`: map at the `iova` given. */
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1;
/** `iommu_ioas_map.flags`: the device may write the mapping. */
export const IOMMU_IOAS_MAP_WRITEABLE = 2;
/** `iommu_ioas_map.flags`: the device may read the mapping. */
export const IOMMU_IOAS_MAP_READABLE = 4;

/** Constants of the installed 6.1 `<linux/vfio.h>` the C check compares. */
export const VFIO_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  VFIO_API_VERSION,
  VFIO_TYPE,
  VFIO_BASE,
  ...VFIO_EXTENSION,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_CAPS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP: VFIO_REGION_INFO_CAP_SPARSE_MMAP_ID,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  ...VFIO_PCI_REGION,
  ...VFIO_PCI_IRQ,
});

/** Constants of `<linux/iommufd.h>` (Linux 6.2), compared only where that header is installed. */
export const IOMMUFD_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  IOMMUFD_TYPE: VFIO_TYPE,
  IOMMUFD_CMD_BASE,
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_IOAS_MAP_READABLE,
});

/** Size of one fd in the DATA_EVENTFD array of `struct vfio_irq_set` (s32). */
export const VFIO_IRQ_SET_FD_BYTES = 4;
