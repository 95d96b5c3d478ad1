/**
 * The VFIO and iommufd calls tsvmm issues, one typed function each (numbers and layouts in
 * `./abi`). Each goes through a {@link VfioSyscalls}, so a model can stand in for the kernel, and
 * returns what the kernel answered: the result (decoded where the argument carries output), or a
 * negative `-errno`. Callers turn failures into typed errors with `check` / `failure` of
 * `@tsvmm/linux-sys`. Nothing here throws for a kernel failure; an argument of the wrong type (a
 * `sys` without the method the call needs, an fd that is not a 32-bit integer, a field out of its
 * C type's range, malformed interrupt data or mapping) throws a VirtError INVALID_ARGUMENT (of
 * `@tsvmm/virt`) naming the argument, before any system call.
 *
 * Source of every rule: docs/interfaces/vfio.md (UAPI `linux/vfio.h`, `linux/iommufd.h`,
 * `drivers/vfio/*`).
 */
import { type StructLayout, type TableLayout, decodeStruct, encodeStruct, readField } from '@tsvmm/ffi';
import * as abi from './abi';
import type { IoctlDef } from '@tsvmm/linux-sys';
import type { VfioSyscalls } from './sys';
import { checkInteger, describeValue, invalidArgument } from '@tsvmm/virt/implement';

/** A negative `-errno` from the kernel (or the model). */
export type Errno = number;

/** True when `r` is a `-errno` answer rather than a decoded result. */
export const failed = (r: unknown): r is Errno => typeof r === 'number' && r < 0;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * `layout` encoded from `values` in a zeroed buffer of `size` bytes (default: the struct's), its
 * first u32 set to `size`: every VFIO and iommufd argument struct carries its own length there
 * (`argsz` in vfio.h, `size` in iommufd.h), so that a struct can grow.
 */
function sized<F extends string>(layout: StructLayout<F>, values: Partial<Record<F, number | bigint>>, size = layout.size): Uint8Array {
  const b = new Uint8Array(size);
  encodeStruct(layout, view(b), 0, values);
  view(b).setUint32(0, size, true);
  return b;
}

/**
 * Issues `request` on `fd` with the {@link sized} struct `layout` made from `values`: -errno, or
 * every field of the struct as the kernel left it (u64 fields as bigint), for the calls whose
 * answer is written back into their argument.
 */
function exchange<F extends string>(sys: VfioSyscalls, fd: number, request: IoctlDef, layout: StructLayout<F>, values: Partial<Record<F, number | bigint>>): Record<F, number | bigint> | Errno {
  const arg = sized(layout, values);
  const r = sys.ioctl(fd, request, arg);
  return r < 0 ? r : decodeStruct(layout, view(arg));
}

/** A u64 field as a number; sizes and offsets of VFIO regions and mappings stay below 2^53 in practice, larger ones read as `Number.MAX_SAFE_INTEGER`. */
function u64(v: DataView, at: number): number {
  return safeNumber(v.getBigUint64(at, true));
}

/** A u64 as a number, at most 2^53 - 1 (a larger value is clamped, never rounded). */
function safeNumber(x: number | bigint): number {
  return BigInt(x) > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(x);
}

/** The capability struct `layout` at byte `at` of `buf`, or undefined when the buffer ends inside it. */
function capStruct<F extends string>(buf: Uint8Array, at: number, layout: StructLayout<F>): Record<F, number | bigint> | undefined {
  return at + layout.size <= buf.length ? decodeStruct(layout, view(buf), at) : undefined;
}

/**
 * The entries of a capability with a trailing array, `table` at byte `at` of `buf`: as many of the
 * count it states as the buffer holds (the kernel sizes the chain; a short buffer is not trusted).
 * Undefined when the buffer ends inside the capability's header.
 */
function capEntries<H extends string, E extends string>(buf: Uint8Array, at: number, table: TableLayout<H, E>): Record<E, number | bigint>[] | undefined {
  const head = capStruct(buf, at, table.header);
  if (head === undefined) return undefined;
  const n = Number(head[table.countField]);
  const out: Record<E, number | bigint>[] = [];
  for (let i = 0; i < n && at + table.entriesOffset + (i + 1) * table.entry.size <= buf.length; i++) {
    out.push(decodeStruct(table.entry, view(buf), at + table.entriesOffset + i * table.entry.size));
  }
  return out;
}

const u32 = <F extends string>(b: Uint8Array, layout: StructLayout<F>, field: F): number => Number(readField(view(b), 0, layout.fields[field]));

/** The most bytes an info buffer may grow to while following a capability chain (a bound on what the kernel may ask for). */
const MAX_INFO_BYTES = 64 * 1024;

/**
 * Issues an info ioctl whose struct starts with `argsz` and whose capability chain may not fit: when
 * the kernel raises `argsz` above the buffer, reallocates and repeats (docs/interfaces/vfio.md, "Regions"), at most twice
 * more and never beyond {@link MAX_INFO_BYTES}. Returns the buffer holding the answer, or -errno.
 */
function infoWithCaps(sys: VfioSyscalls, fd: number, request: IoctlDef, first: Uint8Array): Uint8Array | Errno {
  let buf = first;
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = sys.ioctl(fd, request, buf);
    if (r < 0) return r;
    const need = view(buf).getUint32(0, true);
    if (need <= buf.length || need > MAX_INFO_BYTES) return buf;
    const bigger = new Uint8Array(need);
    bigger.set(buf.subarray(0, first.length));
    view(bigger).setUint32(0, need, true);
    buf = bigger;
  }
  return buf;
}

// ---- argument checks ------------------------------------------------------------------------
// Each call checks its arguments before the system call: a caller's wrong type is INVALID_ARGUMENT
// naming the argument, never a TypeError from inside. The checks allocate nothing unless they throw
// (setIrqs, regionRead and regionWrite are on the guest's path).

/** `sys` has `method` as a function (ioctl, or pread / pwrite for region access). */
function checkSys(op: string, sys: unknown, method: 'ioctl' | 'pread' | 'pwrite'): void {
  if (typeof sys !== 'object' || sys === null || typeof (sys as Record<string, unknown>)[method] !== 'function') {
    throw invalidArgument(op, `sys must be a VfioSyscalls (vfioSyscalls(), or a model) with the function ${method}, got ${describeValue(sys)}`);
  }
}

/** A file descriptor number: any s32 (a negative one is the kernel's to refuse, as it does). */
function checkFd(op: string, name: string, fd: unknown): void {
  checkInteger(op, `${name} (a file descriptor)`, fd, -0x8000_0000, 0x7fff_ffff);
}

/** A u32 field of a struct. */
function checkU32(op: string, name: string, v: unknown): void {
  checkInteger(op, name, v, 0, 0xffff_ffff);
}

const U64_MAX = (1n << 64n) - 1n;

/** A u64 field: a bigint in range, or a non-negative safe integer. */
function checkU64(op: string, name: string, v: unknown): void {
  if (typeof v === 'bigint' ? v < 0n || v > U64_MAX : typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArgument(op, `${name} must be an unsigned 64-bit integer (bigint, or a non-negative safe integer), got ${describeValue(v)}`);
  }
}

/** A byte offset into a region or fd: a non-negative safe integer. */
function checkOffset(op: string, name: string, v: unknown): void {
  checkInteger(op, `${name} (bytes)`, v, 0, Number.MAX_SAFE_INTEGER);
}

function checkBytes(op: string, name: string, v: unknown): void {
  if (!(v instanceof Uint8Array)) throw invalidArgument(op, `${name} must be a Uint8Array, got ${describeValue(v)}`);
}

function checkMapping(op: string, m: unknown): void {
  if (typeof m !== 'object' || m === null) throw invalidArgument(op, `m must be a DmaMapping { vaddr, iova, size }, got ${describeValue(m)}`);
  const r = m as Record<string, unknown>;
  checkU64(op, 'm.vaddr', r.vaddr);
  checkU64(op, 'm.iova', r.iova);
  checkU64(op, 'm.size', r.size);
}

/** The common head of a call issued on `fd`: `sys` and the fd. */
function checkCall(op: string, sys: unknown, fdName: string, fd: unknown): void {
  checkSys(op, sys, 'ioctl');
  checkFd(op, fdName, fd);
}

/** One capability of an info buffer's chain (`struct vfio_info_cap_header`). */
export interface CapabilityRef {
  /** Its id (what the capability is, per info kind: e.g. `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE`). */
  readonly id: number;
  /** Its version. */
  readonly version: number;
  /** Where its header is, in bytes from the start of the info buffer. */
  readonly offset: number;
}

/**
 * The capabilities of an info buffer, walked through `next` from `capOffset`: at most 64, each
 * header inside the buffer, none visited twice (a looping or truncated chain is cut, not followed).
 */
export function capabilityChain(buf: Uint8Array, capOffset: number): CapabilityRef[] {
  checkBytes('vfioCalls.capabilityChain', 'buf', buf);
  checkU32('vfioCalls.capabilityChain', 'capOffset', capOffset);
  const out: CapabilityRef[] = [];
  const v = view(buf);
  let at = capOffset;
  const seen = new Set<number>();
  while (at !== 0 && at + abi.VFIO_INFO_CAP_HEADER.size <= buf.length && !seen.has(at) && out.length < 64) {
    seen.add(at);
    const head = decodeStruct(abi.VFIO_INFO_CAP_HEADER, v, at);
    out.push({ id: Number(head.id), version: Number(head.version), offset: at });
    at = Number(head.next);
  }
  return out;
}

/** An info struct as the kernel answered it, its `flags`, and the capabilities of its chain. */
interface InfoAnswer {
  /** The buffer the answer is in (grown when the chain needed more room). */
  readonly buf: Uint8Array;
  /** The struct's `flags`. */
  readonly flags: number;
  /** The chain's capabilities; none when `flags` lacks the info kind's CAPS flag. */
  readonly caps: readonly CapabilityRef[];
}

/**
 * The info protocol VFIO_IOMMU_GET_INFO and VFIO_DEVICE_GET_REGION_INFO share (docs/interfaces/vfio.md, "Regions"): the
 * struct `first` (`layout`, `argsz` set) through {@link infoWithCaps}, then, when its `flags` has
 * `capsFlag`, the chain at its `cap_offset` (the kernel sets that flag only with a chain). -errno
 * when the ioctl fails.
 */
function readInfo(sys: VfioSyscalls, fd: number, request: IoctlDef, layout: StructLayout<'argsz' | 'flags' | 'capOffset'>, first: Uint8Array, capsFlag: number): InfoAnswer | Errno {
  const buf = infoWithCaps(sys, fd, request, first);
  if (typeof buf === 'number') return buf;
  const flags = u32(buf, layout, 'flags');
  return { buf, flags, caps: flags & capsFlag ? capabilityChain(buf, u32(buf, layout, 'capOffset')) : [] };
}

// ---- container --------------------------------------------------------------------------------

/** VFIO_GET_API_VERSION on /dev/vfio/vfio: {@link abi.VFIO_API_VERSION} (0) on every kernel. */
export function getApiVersion(sys: VfioSyscalls, containerFd: number): number {
  checkCall('vfioCalls.getApiVersion', sys, 'containerFd', containerFd);
  return sys.ioctl(containerFd, abi.VFIO_GET_API_VERSION, 0);
}
/** VFIO_CHECK_EXTENSION on a container: > 0 when the extension (`VFIO_EXTENSION`) is supported, 0 when not. */
export function checkExtension(sys: VfioSyscalls, containerFd: number, extension: number): number {
  checkCall('vfioCalls.checkExtension', sys, 'containerFd', containerFd);
  checkU32('vfioCalls.checkExtension', 'extension', extension);
  return sys.ioctl(containerFd, abi.VFIO_CHECK_EXTENSION, extension);
}
/** VFIO_SET_IOMMU on a container with at least one group attached: 0, or EINVAL / ENODEV / EPERM (docs/interfaces/vfio.md, "Opening a device"). */
export function setIommu(sys: VfioSyscalls, containerFd: number, type: number): number {
  checkCall('vfioCalls.setIommu', sys, 'containerFd', containerFd);
  checkU32('vfioCalls.setIommu', 'type', type);
  return sys.ioctl(containerFd, abi.VFIO_SET_IOMMU, type);
}

/** A range of IO virtual addresses, both ends inclusive (`struct vfio_iova_range`). */
export interface IovaRange {
  /** The first usable IOVA. */
  readonly start: bigint;
  /** The last usable IOVA (inclusive). */
  readonly end: bigint;
}

/** What VFIO_IOMMU_GET_INFO reports for a type1 container. */
export interface IommuInfo {
  /** `VFIO_IOMMU_INFO_*` flags. */
  readonly flags: number;
  /** Supported page sizes as a bitmap (bytes); the lowest set bit is the MAP/UNMAP granule. 0 without {@link abi.VFIO_IOMMU_INFO_PGSIZES}. */
  readonly iovaPgsizes: bigint;
  /** Usable IOVA ranges (the IOVA_RANGE capability), or undefined when the kernel gave none. */
  readonly iovaRanges: readonly IovaRange[] | undefined;
  /** DMA mappings the container may still make (the DMA_AVAIL capability), or undefined. */
  readonly dmaAvail: number | undefined;
}

/** VFIO_IOMMU_GET_INFO on a container with an IOMMU set, following the capability chain: the info, or -errno (EINVAL before SET_IOMMU). */
export function iommuGetInfo(sys: VfioSyscalls, containerFd: number): IommuInfo | Errno {
  checkCall('vfioCalls.iommuGetInfo', sys, 'containerFd', containerFd);
  const L = abi.VFIO_IOMMU_TYPE1_INFO;
  const info = readInfo(sys, containerFd, abi.VFIO_IOMMU_GET_INFO, L, sized(L, {}), abi.VFIO_IOMMU_INFO_CAPS);
  if (typeof info === 'number') return info;
  const { buf, flags } = info;
  let iovaRanges: IovaRange[] | undefined;
  let dmaAvail: number | undefined;
  for (const cap of info.caps) {
    if (cap.id === abi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      const ranges = capEntries(buf, cap.offset, abi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_TABLE);
      if (ranges) iovaRanges = ranges.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end) }));
    } else if (cap.id === abi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
      const c = capStruct(buf, cap.offset, abi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_LAYOUT);
      if (c) dmaAvail = Number(c.avail);
    }
  }
  return { flags, iovaPgsizes: flags & abi.VFIO_IOMMU_INFO_PGSIZES ? view(buf).getBigUint64(L.fields.iovaPgsizes.offset, true) : 0n, iovaRanges, dmaAvail };
}

/** A DMA mapping: process address, IO virtual address and size, all bytes. */
export interface DmaMapping {
  /** Process virtual address of the memory (the guest RAM's host mapping). */
  readonly vaddr: bigint;
  /** IO virtual address the device uses (the guest physical address). */
  readonly iova: bigint;
  /** Length in bytes: a multiple of the IOMMU granule, > 0. */
  readonly size: bigint;
}

/** VFIO_IOMMU_MAP_DMA with READ | WRITE unless `flags` says otherwise: 0, or EINVAL / EEXIST / ENOSPC / ENOMEM (docs/interfaces/vfio.md, "DMA mapping"). */
export function mapDma(sys: VfioSyscalls, containerFd: number, m: DmaMapping, flags = abi.VFIO_DMA_MAP_FLAG_READ | abi.VFIO_DMA_MAP_FLAG_WRITE): number {
  const op = 'vfioCalls.mapDma';
  checkCall(op, sys, 'containerFd', containerFd);
  checkMapping(op, m);
  checkU32(op, 'flags', flags);
  return sys.ioctl(containerFd, abi.VFIO_IOMMU_MAP_DMA, sized(abi.VFIO_IOMMU_TYPE1_DMA_MAP, { flags, vaddr: m.vaddr, iova: m.iova, size: m.size }));
}

/** VFIO_IOMMU_UNMAP_DMA: the bytes unmapped (0n when nothing was mapped there), or -errno (EINVAL when it would split a mapping). `flags` {@link abi.VFIO_DMA_UNMAP_FLAG_ALL} with iova = size = 0 unmaps everything. */
export function unmapDma(sys: VfioSyscalls, containerFd: number, iova: bigint, size: bigint, flags = 0): bigint | Errno {
  const op = 'vfioCalls.unmapDma';
  checkCall(op, sys, 'containerFd', containerFd);
  checkU64(op, 'iova', iova);
  checkU64(op, 'size', size);
  checkU32(op, 'flags', flags);
  const answer = exchange(sys, containerFd, abi.VFIO_IOMMU_UNMAP_DMA, abi.VFIO_IOMMU_TYPE1_DMA_UNMAP, { flags, iova, size });
  return failed(answer) ? answer : BigInt(answer.size);
}

// ---- group ------------------------------------------------------------------------------------

/** VFIO_GROUP_GET_STATUS: the flags (`VFIO_GROUP_FLAGS_VIABLE`, `VFIO_GROUP_FLAGS_CONTAINER_SET`), or -errno. */
export function groupGetStatus(sys: VfioSyscalls, groupFd: number): number {
  checkCall('vfioCalls.groupGetStatus', sys, 'groupFd', groupFd);
  const answer = exchange(sys, groupFd, abi.VFIO_GROUP_GET_STATUS, abi.VFIO_GROUP_STATUS, {});
  return failed(answer) ? answer : Number(answer.flags);
}

/** VFIO_GROUP_SET_CONTAINER with a pointer to the s32 container (or iommufd) fd: 0, or EINVAL / EBADF / EBADFD / EPERM. */
export function groupSetContainer(sys: VfioSyscalls, groupFd: number, containerFd: number): number {
  checkCall('vfioCalls.groupSetContainer', sys, 'groupFd', groupFd);
  checkFd('vfioCalls.groupSetContainer', 'containerFd', containerFd);
  const arg = new Uint8Array(4);
  view(arg).setInt32(0, containerFd, true);
  return sys.ioctl(groupFd, abi.VFIO_GROUP_SET_CONTAINER, arg);
}

/** VFIO_GROUP_UNSET_CONTAINER: 0, or EINVAL when no container is set. */
export function groupUnsetContainer(sys: VfioSyscalls, groupFd: number): number {
  checkCall('vfioCalls.groupUnsetContainer', sys, 'groupFd', groupFd);
  return sys.ioctl(groupFd, abi.VFIO_GROUP_UNSET_CONTAINER);
}

/**
 * VFIO_GROUP_GET_DEVICE_FD with the NUL-terminated device name (`dddd:bb:dd.f`, options after one
 * space such as `vf_token=<uuid>`): the new close-on-exec device fd, or -errno: ENODEV for a name
 * not in the group (checked first), EINVAL for an unknown option, a VF token on a function that is
 * neither an SR-IOV PF nor a VF, or before SET_IOMMU, EACCES for a missing or wrong VF token
 * (vfio_group_ioctl_get_device_fd, vfio_pci_core_match).
 */
export function groupGetDeviceFd(sys: VfioSyscalls, groupFd: number, name: string): number {
  checkCall('vfioCalls.groupGetDeviceFd', sys, 'groupFd', groupFd);
  if (typeof name !== 'string') throw invalidArgument('vfioCalls.groupGetDeviceFd', `name must be the device's PCI name (a string such as "0000:01:00.0"), got ${describeValue(name)}`);
  const bytes = new TextEncoder().encode(name);
  const arg = new Uint8Array(bytes.length + 1);
  arg.set(bytes);
  return sys.ioctl(groupFd, abi.VFIO_GROUP_GET_DEVICE_FD, arg);
}

// ---- device -----------------------------------------------------------------------------------

/** What VFIO_DEVICE_GET_INFO reports. */
export interface DeviceInfo {
  /** `VFIO_DEVICE_FLAGS_*` (RESET 1, PCI 2, CAPS 0x80). */
  readonly flags: number;
  /** Region indexes + 1 (9 for a vfio-pci device without device-specific regions). */
  readonly numRegions: number;
  /** Interrupt indexes + 1 (5 for vfio-pci). */
  readonly numIrqs: number;
}

/** VFIO_DEVICE_GET_INFO (20-byte argument: the installed header's; the kernel needs at least 16). */
export function deviceGetInfo(sys: VfioSyscalls, deviceFd: number): DeviceInfo | Errno {
  checkCall('vfioCalls.deviceGetInfo', sys, 'deviceFd', deviceFd);
  const answer = exchange(sys, deviceFd, abi.VFIO_DEVICE_GET_INFO, abi.VFIO_DEVICE_INFO, {});
  if (failed(answer)) return answer;
  return { flags: Number(answer.flags), numRegions: Number(answer.numRegions), numIrqs: Number(answer.numIrqs) };
}

/** An mmap-able part of a region (`struct vfio_region_sparse_mmap_area`). */
export interface SparseMmapArea {
  /** Bytes from the start of the region. */
  readonly offset: number;
  /** Bytes. */
  readonly size: number;
}

/** A device-specific region's type (`struct vfio_region_info_cap_type`). */
export interface RegionType {
  /** The type (bus-driver specific; bit 31 = PCI vendor type, with the vendor ID in bits 15:0). */
  readonly type: number;
  /** The subtype, per type. */
  readonly subtype: number;
}

/** What VFIO_DEVICE_GET_REGION_INFO reports for one region, capabilities decoded. */
export interface RegionInfo {
  /** The region index asked for (`VFIO_PCI_REGION`: BAR0-5 0-5, ROM 6, CONFIG 7, VGA 8). */
  readonly index: number;
  /** `VFIO_REGION_INFO_FLAG_*`. */
  readonly flags: number;
  /** Bytes; 0 for an unimplemented BAR (also the upper half of a 64-bit BAR). */
  readonly size: number;
  /** The region's offset in the device fd (opaque; pass to pread, pwrite and mmap). */
  readonly offset: number;
  /** The mmap-able areas when the SPARSE_MMAP capability is present (`offset`/`size` inside the region), else undefined. */
  readonly sparseMmap: readonly SparseMmapArea[] | undefined;
  /** The TYPE capability's type and subtype (device-specific regions), else undefined. */
  readonly type: RegionType | undefined;
  /** True when the MSIX_MAPPABLE capability is present: the MSI-X table may be mmapped with the rest of its BAR. */
  readonly msixMappable: boolean;
}

/** VFIO_DEVICE_GET_REGION_INFO for `index`, following the capability chain: the info, or -errno (EINVAL for an index out of range or no VGA). */
export function deviceGetRegionInfo(sys: VfioSyscalls, deviceFd: number, index: number): RegionInfo | Errno {
  checkCall('vfioCalls.deviceGetRegionInfo', sys, 'deviceFd', deviceFd);
  checkU32('vfioCalls.deviceGetRegionInfo', 'index', index);
  const L = abi.VFIO_REGION_INFO;
  const info = readInfo(sys, deviceFd, abi.VFIO_DEVICE_GET_REGION_INFO, L, sized(L, { index }), abi.VFIO_REGION_INFO_FLAG_CAPS);
  if (typeof info === 'number') return info;
  const { buf, flags } = info;
  let sparseMmap: SparseMmapArea[] | undefined;
  let type: RegionType | undefined;
  let msixMappable = false;
  for (const cap of info.caps) {
    if (cap.id === abi.VFIO_REGION_INFO_CAP_SPARSE_MMAP_ID) {
      const areas = capEntries(buf, cap.offset, abi.VFIO_REGION_INFO_CAP_SPARSE_MMAP_TABLE);
      if (areas) sparseMmap = areas.map((a) => ({ offset: safeNumber(a.offset), size: safeNumber(a.size) }));
    } else if (cap.id === abi.VFIO_REGION_INFO_CAP_TYPE) {
      const c = capStruct(buf, cap.offset, abi.VFIO_REGION_INFO_CAP_TYPE_LAYOUT);
      if (c) type = { type: Number(c.type), subtype: Number(c.subtype) };
    } else if (cap.id === abi.VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
      msixMappable = true;
    }
  }
  const v = view(buf);
  return { index: u32(buf, L, 'index'), flags, size: u64(v, L.fields.size.offset), offset: u64(v, L.fields.offset.offset), sparseMmap, type, msixMappable };
}

/** What VFIO_DEVICE_GET_IRQ_INFO reports for one interrupt index. */
export interface IrqInfo {
  /** `VFIO_IRQ_INFO_*` (EVENTFD, MASKABLE, AUTOMASKED, NORESIZE). */
  readonly flags: number;
  /** Vectors of the index: INTx 1 or 0, MSI 2^MMC, MSI-X Table Size + 1. */
  readonly count: number;
}

/** VFIO_DEVICE_GET_IRQ_INFO for `index` (`VFIO_PCI_IRQ`): the info, or -errno (EINVAL for index ≥ 5, ERR on conventional PCI). */
export function deviceGetIrqInfo(sys: VfioSyscalls, deviceFd: number, index: number): IrqInfo | Errno {
  checkCall('vfioCalls.deviceGetIrqInfo', sys, 'deviceFd', deviceFd);
  checkU32('vfioCalls.deviceGetIrqInfo', 'index', index);
  const answer = exchange(sys, deviceFd, abi.VFIO_DEVICE_GET_IRQ_INFO, abi.VFIO_IRQ_INFO, { index });
  if (failed(answer)) return answer;
  return { flags: Number(answer.flags), count: Number(answer.count) };
}

/** The action of a VFIO_DEVICE_SET_IRQS call. */
export type IrqAction = 'mask' | 'unmask' | 'trigger';

/**
 * The data of a VFIO_DEVICE_SET_IRQS call: none (with a vector count), one boolean per vector, or
 * one eventfd per vector (-1 unbinds).
 */
export type IrqSetData =
  | {
      /** DATA_NONE: how many vectors from `start` the action applies to (0 with `trigger` disables the index). */
      readonly none: number;
    }
  | {
      /** DATA_BOOL: one flag per vector from `start` (`trigger`: signal it; `mask` / `unmask`: do it). */
      readonly bools: readonly boolean[];
    }
  | {
      /** DATA_EVENTFD: one eventfd per vector from `start`; -1 unbinds (`trigger`) or removes the unmask eventfd (`unmask`). */
      readonly eventfds: readonly number[];
    };

const ACTION_FLAG: Readonly<Record<IrqAction, number>> = Object.freeze({
  mask: abi.VFIO_IRQ_SET_ACTION_MASK,
  unmask: abi.VFIO_IRQ_SET_ACTION_UNMASK,
  trigger: abi.VFIO_IRQ_SET_ACTION_TRIGGER,
});

/** The bytes of a `struct vfio_irq_set` with its data: `argsz` = 20 + data bytes. */
export function encodeIrqSet(index: number, action: IrqAction, start: number, data: IrqSetData): Uint8Array {
  checkIrqSet('vfioCalls.encodeIrqSet', index, action, start, data);
  return irqSetBytes(index, action, start, data);
}

/** INVALID_ARGUMENT unless the arguments make a `struct vfio_irq_set`: u32 index and start, a known action, one kind of data of the right types. */
function checkIrqSet(op: string, index: unknown, action: unknown, start: unknown, data: unknown): void {
  checkU32(op, 'index', index);
  if (action !== 'mask' && action !== 'unmask' && action !== 'trigger') throw invalidArgument(op, `action must be 'mask', 'unmask' or 'trigger', got ${describeValue(action)}`);
  checkU32(op, 'start', start);
  const d = data as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) throw invalidArgument(op, `data must be { none: count }, { bools: [...] } or { eventfds: [...] }, got ${describeValue(data)}`);
  const kinds = ('none' in d ? 1 : 0) + ('bools' in d ? 1 : 0) + ('eventfds' in d ? 1 : 0);
  if (kinds !== 1) throw invalidArgument(op, `data must have exactly one of none, bools or eventfds, got ${describeValue(data)}`);
  if ('none' in d) return checkU32(op, 'data.none', d.none);
  const list = 'bools' in d ? d.bools : d.eventfds;
  const name = 'bools' in d ? 'data.bools' : 'data.eventfds';
  if (!Array.isArray(list)) throw invalidArgument(op, `${name} must be an array, got ${describeValue(list)}`);
  // At most what a u32 argsz can carry.
  if (list.length > 0x3fff_fff0) throw invalidArgument(op, `${name} has ${list.length} entries, more than a VFIO_DEVICE_SET_IRQS can carry`);
  for (let i = 0; i < list.length; i++) {
    const x: unknown = list[i];
    if ('bools' in d ? typeof x !== 'boolean' : typeof x !== 'number' || !Number.isInteger(x) || x < -0x8000_0000 || x > 0x7fff_ffff) {
      throw invalidArgument(op, `${name}[${i}] must be ${'bools' in d ? 'a boolean' : 'an eventfd (a 32-bit integer; -1 unbinds)'}, got ${describeValue(x)}`);
    }
  }
}

/** The bytes of a checked `struct vfio_irq_set`. */
function irqSetBytes(index: number, action: IrqAction, start: number, data: IrqSetData): Uint8Array {
  const L = abi.VFIO_IRQ_SET;
  let flags = ACTION_FLAG[action];
  let count: number;
  let bytes: number;
  if ('none' in data) {
    flags |= abi.VFIO_IRQ_SET_DATA_NONE;
    count = data.none;
    bytes = 0;
  } else if ('bools' in data) {
    flags |= abi.VFIO_IRQ_SET_DATA_BOOL;
    count = data.bools.length;
    bytes = count;
  } else {
    flags |= abi.VFIO_IRQ_SET_DATA_EVENTFD;
    count = data.eventfds.length;
    bytes = count * abi.VFIO_IRQ_SET_FD_BYTES;
  }
  const arg = sized(L, { flags, index, start, count }, L.size + bytes);
  const v = view(arg);
  if ('bools' in data) data.bools.forEach((b, i) => v.setUint8(L.size + i, b ? 1 : 0));
  if ('eventfds' in data) data.eventfds.forEach((fd, i) => v.setInt32(L.size + i * 4, fd, true));
  return arg;
}

/**
 * VFIO_DEVICE_SET_IRQS: 0; a positive count when MSI/MSI-X got fewer host vectors than asked
 * (nothing enabled: retry with at most that many); or -errno (EINVAL / ENOTTY / ENODEV / EBUSY,
 * docs/interfaces/vfio.md, "Interrupts"). Disable an index with `('trigger', 0, { none: 0 })`.
 */
export function setIrqs(sys: VfioSyscalls, deviceFd: number, index: number, action: IrqAction, start: number, data: IrqSetData): number {
  const op = 'vfioCalls.setIrqs';
  checkCall(op, sys, 'deviceFd', deviceFd);
  checkIrqSet(op, index, action, start, data);
  return sys.ioctl(deviceFd, abi.VFIO_DEVICE_SET_IRQS, irqSetBytes(index, action, start, data));
}

/** VFIO_DEVICE_RESET: 0, or EINVAL (no reset method: VFIO_DEVICE_FLAGS_RESET clear), EAGAIN (device lock busy). */
export function deviceReset(sys: VfioSyscalls, deviceFd: number): number {
  checkCall('vfioCalls.deviceReset', sys, 'deviceFd', deviceFd);
  return sys.ioctl(deviceFd, abi.VFIO_DEVICE_RESET);
}

/**
 * pread of `buf.length` bytes at `offset` inside a region whose fd offset is `regionOffset`: bytes
 * read (fewer than asked when a BAR access runs past the BAR's end; 0 for an empty `buf`), or
 * -errno: EFAULT past the end of config space, EINVAL from a BAR's end on, EIO on a memory BAR's
 * bytes outside the MSI-X table while Memory Space is off (vfio_pci_core_read, vfio_pci_bar_rw).
 */
export function regionRead(sys: VfioSyscalls, deviceFd: number, regionOffset: number, offset: number, buf: Uint8Array): number {
  checkRegionAccess('vfioCalls.regionRead', sys, 'pread', deviceFd, regionOffset, offset, buf);
  return sys.pread(deviceFd, buf, buf.length, regionOffset + offset);
}

function checkRegionAccess(op: string, sys: unknown, method: 'pread' | 'pwrite', deviceFd: unknown, regionOffset: unknown, offset: unknown, buf: unknown): void {
  checkSys(op, sys, method);
  checkFd(op, 'deviceFd', deviceFd);
  checkOffset(op, 'regionOffset', regionOffset);
  checkOffset(op, 'offset', offset);
  checkBytes(op, 'buf', buf);
  if ((regionOffset as number) + (offset as number) > Number.MAX_SAFE_INTEGER) throw invalidArgument(op, `regionOffset + offset must stay below 2^53, got ${describeValue(regionOffset)} + ${describeValue(offset)}`);
}

/** pwrite of `buf` at `offset` inside a region whose fd offset is `regionOffset`: bytes written (cut short as {@link regionRead}), or -errno as there. */
export function regionWrite(sys: VfioSyscalls, deviceFd: number, regionOffset: number, offset: number, buf: Uint8Array): number {
  checkRegionAccess('vfioCalls.regionWrite', sys, 'pwrite', deviceFd, regionOffset, offset, buf);
  return sys.pwrite(deviceFd, buf, buf.length, regionOffset + offset);
}

// ---- cdev + iommufd ---------------------------------------------------------------------------

/** VFIO_DEVICE_BIND_IOMMUFD on a device cdev (16-byte form, flags 0): the device id in the iommufd, or -errno (EINVAL; EBUSY while the group node is open; EBADF / EBADFD for an fd that is not an iommufd). */
export function bindIommufd(sys: VfioSyscalls, deviceFd: number, iommufd: number): number {
  checkCall('vfioCalls.bindIommufd', sys, 'deviceFd', deviceFd);
  checkFd('vfioCalls.bindIommufd', 'iommufd', iommufd);
  const answer = exchange(sys, deviceFd, abi.VFIO_DEVICE_BIND_IOMMUFD, abi.VFIO_DEVICE_BIND_IOMMUFD_LAYOUT, { flags: 0, iommufd });
  return failed(answer) ? answer : Number(answer.outDevid);
}

/** VFIO_DEVICE_ATTACH_IOMMUFD_PT (12-byte form) with an IOAS id: the hardware page table id, or -errno. */
export function attachIommufdPt(sys: VfioSyscalls, deviceFd: number, ptId: number): number {
  checkCall('vfioCalls.attachIommufdPt', sys, 'deviceFd', deviceFd);
  checkU32('vfioCalls.attachIommufdPt', 'ptId', ptId);
  const answer = exchange(sys, deviceFd, abi.VFIO_DEVICE_ATTACH_IOMMUFD_PT, abi.VFIO_DEVICE_ATTACH_IOMMUFD_PT_LAYOUT, { flags: 0, ptId });
  return failed(answer) ? answer : Number(answer.ptId);
}

/** VFIO_DEVICE_DETACH_IOMMUFD_PT (8-byte form): 0 or -errno. */
export function detachIommufdPt(sys: VfioSyscalls, deviceFd: number): number {
  checkCall('vfioCalls.detachIommufdPt', sys, 'deviceFd', deviceFd);
  return sys.ioctl(deviceFd, abi.VFIO_DEVICE_DETACH_IOMMUFD_PT, sized(abi.VFIO_DEVICE_DETACH_IOMMUFD_PT_LAYOUT, { flags: 0 }));
}

/** IOMMU_IOAS_ALLOC on /dev/iommu: the new IOAS id, or -errno. */
export function ioasAlloc(sys: VfioSyscalls, iommufd: number): number {
  checkCall('vfioCalls.ioasAlloc', sys, 'iommufd', iommufd);
  const answer = exchange(sys, iommufd, abi.IOMMU_IOAS_ALLOC, abi.IOMMU_IOAS_ALLOC_LAYOUT, { flags: 0 });
  return failed(answer) ? answer : Number(answer.outIoasId);
}

/** IOMMU_DESTROY of an iommufd object (an IOAS): 0 or -errno (EBUSY while a device is attached to it). */
export function iommuDestroy(sys: VfioSyscalls, iommufd: number, id: number): number {
  checkCall('vfioCalls.iommuDestroy', sys, 'iommufd', iommufd);
  checkU32('vfioCalls.iommuDestroy', 'id', id);
  return sys.ioctl(iommufd, abi.IOMMU_DESTROY, sized(abi.IOMMU_DESTROY_LAYOUT, { id }));
}

/**
 * IOMMU_IOAS_MAP at a fixed IOVA, READABLE | WRITEABLE: 0, or -errno (EINVAL for misalignment or a
 * reserved range, EEXIST for an overlap; docs/interfaces/vfio.md, "DMA mapping").
 */
export function ioasMap(sys: VfioSyscalls, iommufd: number, ioasId: number, m: DmaMapping): number {
  checkCall('vfioCalls.ioasMap', sys, 'iommufd', iommufd);
  checkU32('vfioCalls.ioasMap', 'ioasId', ioasId);
  checkMapping('vfioCalls.ioasMap', m);
  const flags = abi.IOMMU_IOAS_MAP_FIXED_IOVA | abi.IOMMU_IOAS_MAP_READABLE | abi.IOMMU_IOAS_MAP_WRITEABLE;
  return sys.ioctl(iommufd, abi.IOMMU_IOAS_MAP, sized(abi.IOMMU_IOAS_MAP_LAYOUT, { flags, ioasId, userVa: m.vaddr, length: m.size, iova: m.iova }));
}

/** IOMMU_IOAS_UNMAP: the bytes unmapped, or -errno (ENOENT when the range does not cover whole mappings, or none). iova 0 and length 2^64 - 1 unmap everything. */
export function ioasUnmap(sys: VfioSyscalls, iommufd: number, ioasId: number, iova: bigint, length: bigint): bigint | Errno {
  const op = 'vfioCalls.ioasUnmap';
  checkCall(op, sys, 'iommufd', iommufd);
  checkU32(op, 'ioasId', ioasId);
  checkU64(op, 'iova', iova);
  checkU64(op, 'length', length);
  const answer = exchange(sys, iommufd, abi.IOMMU_IOAS_UNMAP, abi.IOMMU_IOAS_UNMAP_LAYOUT, { ioasId, iova, length });
  return failed(answer) ? answer : BigInt(answer.length);
}
