/**
 * A model of the Linux VFIO interface (vfio-pci, type1 IOMMU, cdev + iommufd) behind the
 * {@link VfioSyscalls} seam, so code built on `@tsvmm/vfio` runs without a device.
 *
 * It is written from the interface page (docs/interfaces/vfio.md: UAPI `include/uapi/linux/vfio.h` and
 * `iommufd.h`, `drivers/vfio/{group,container,vfio_main,device_cdev,virqfd,vfio_iommu_type1}.c`,
 * `drivers/vfio/pci/vfio_pci_{core,intrs,config,rdwr}.c`; docs/interfaces/pci-msi.md for the capability
 * layouts), never from the package's own definitions: ioctl numbers are the literal values of the
 * page's table and every argument is decoded from raw bytes at the header's offsets. So a wrong
 * number or offset in the package's ABI module fails a test instead of agreeing with itself.
 *
 * Descriptors and eventfds are the shared model table of `@tsvmm/linux-sys/testing`
 * ({@link ModelFileTable}). The device side is driven by {@link VfioKernelModel.raiseMsix},
 * {@link VfioKernelModel.raiseMsi} and {@link VfioKernelModel.assertIntx}: each signals exactly the
 * eventfd vfio-pci would, or nothing when vfio-pci would deliver nothing.
 *
 * Hazards (things a correct VMM never leaves behind) are recorded in {@link VfioKernelModel.hazards}:
 * an eventfd still bound to a device's interrupt when its last fd closes, and DMA still mapped when
 * a container loses its IOMMU or an iommufd is closed.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { E2BIG, EAGAIN, EBADF, EBUSY, EEXIST, EFAULT, EINVAL, EIO, ENODEV, ENOENT, ENOSPC, ENOTTY, EOPNOTSUPP, EPERM, type IoctlDef } from '@tsvmm/linux-sys';
import { type ModelEventFd, type ModelField, ModelKernel, type ModelStruct, type ModelStructArg, ioctlStruct, isEventFd, modelStruct } from '@tsvmm/linux-sys/testing';
import { VirtError } from '@tsvmm/virt';
import { describeValue, invalidArgument, checkInteger, checkOptions } from '@tsvmm/virt/implement';
import type { VfioSyscalls } from '../sys';

// Not among linux-sys's errno names: EBADFD (x86_64 asm-generic/errno.h), what vfio answers for an fd of the wrong kind.
const EBADFD = 77;
// Nor ERANGE (34): pci_alloc_irq_vectors's answer to a range of no vectors.
const ERANGE = 34;

// ioctl numbers, literally from the interface page's table (docs/interfaces/vfio.md, "ioctls"): _IO(';', nr) = 0x3B00 | nr.
const GET_API_VERSION = 0x3b64;
const CHECK_EXTENSION = 0x3b65;
const SET_IOMMU = 0x3b66;
const GROUP_GET_STATUS = 0x3b67;
const GROUP_SET_CONTAINER = 0x3b68;
const GROUP_UNSET_CONTAINER = 0x3b69;
const GROUP_GET_DEVICE_FD = 0x3b6a;
const DEVICE_GET_INFO = 0x3b6b;
const DEVICE_GET_REGION_INFO = 0x3b6c;
const DEVICE_GET_IRQ_INFO = 0x3b6d;
const DEVICE_SET_IRQS = 0x3b6e;
const DEVICE_RESET = 0x3b6f;
const IOMMU_GET_INFO = 0x3b70;
const IOMMU_MAP_DMA = 0x3b71;
const IOMMU_UNMAP_DMA = 0x3b72;
const DEVICE_BIND_IOMMUFD = 0x3b76;
const DEVICE_ATTACH_IOMMUFD_PT = 0x3b77;
const DEVICE_DETACH_IOMMUFD_PT = 0x3b78;
const IOMMU_DESTROY = 0x3b80;
const IOMMU_IOAS_ALLOC = 0x3b81;
const IOMMU_IOAS_MAP = 0x3b85;
const IOMMU_IOAS_UNMAP = 0x3b86;

// Constants of docs/interfaces/vfio.md, "ioctls".
const TYPE1 = 1;
const TYPE1V2 = 3;
const IRQ_DATA_NONE = 1;
const IRQ_DATA_BOOL = 2;
const IRQ_DATA_EVENTFD = 4;
const IRQ_ACTION_MASK = 8;
const IRQ_ACTION_UNMASK = 0x10;
const IRQ_ACTION_TRIGGER = 0x20;
const INTX = 0;
const MSI = 1;
const MSIX = 2;
const ERR = 3;
const REQ = 4;
const CONFIG_INDEX = 7;
const ROM_INDEX = 6;
/** VFIO_PCI_OFFSET_SHIFT: a region's offset in the device fd is `index << 40` (vfio_pci_core.h). */
const OFFSET_SHIFT = 40n;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

// The model device's config space (docs/interfaces/pci-msi.md, PCI Local Bus 3.0 §6): a type 0 header, an MSI
// capability at 0x40 (64-bit, no per-vector masking), an MSI-X capability at 0x50, on a PCI
// Express device a PCI Express capability at 0x60 (config space then 4096 bytes, docs/interfaces/vfio.md, "Regions") and,
// where asked for, an Advanced Features capability at 0xA0.
const CFG_SIZE = 256;
const PCIE_CFG_SIZE = 4096;
const MSI_CAP = 0x40;
const MSIX_CAP = 0x50;
const PCIE_CAP = 0x60;
/** PCI Express capability v2 of an endpoint: 0x3C bytes (QEMU PCI_EXP_VER2_SIZEOF). */
const PCIE_CAP_SIZE = 0x3c;
// PCI Express capability registers (pci_regs.h: PCI_EXP_DEVCAP 0x04, PCI_EXP_DEVCTL 0x08, PCI_EXP_DEVCTL2 0x28).
const PCIE_DEVCAP = 0x04;
const PCIE_DEVCTL = 0x08;
const PCIE_DEVCTL2 = 0x28;
/** Device Capabilities bit 28, Function Level Reset Capability (PCI_EXP_DEVCAP_FLR). */
const DEVCAP_FLR = 0x1000_0000;
/** Device Control bit 15, Initiate Function Level Reset, in the register's high byte (PCI_EXP_DEVCTL_BCR_FLR 0x8000). */
const DEVCTL_FLR_HI = 0x80;
/** Device Control 2 bit 5, ARI Forwarding Enable: not writable through vfio-pci (PCI_EXP_DEVCTL2_ARI 0x0020). */
const DEVCTL2_ARI = 0x20;
/** Device Control bit 9, Phantom Functions Enable: not writable through vfio-pci (PCI_EXP_DEVCTL_PHANTOM 0x0200). */
const DEVCTL_PHANTOM_HI = 0x02;
// Advanced Features capability (pci_regs.h PCI_CAP_ID_AF 0x13, 6 bytes): Length +2 (reads 6), AF
// Capabilities +3 (TP bit 0, FLR bit 1), AF Control +4 (Initiate FLR bit 0), AF Status +5.
const AF_CAP = 0xa0;
const AF_SIZE = 6;
const AF_CAP_TP = 0x01;
const AF_CAP_FLR = 0x02;
const AF_CTRL = 0x04;
const AF_CTRL_FLR = 0x01;
const CMD_MEMORY = 2;
const CMD_INTX_DISABLE = 0x400;
const STATUS_INTERRUPT = 0x8;
const STATUS_CAP_LIST = 0x10;

/** The structs the ioctls pass, field by field: `[byte offset, C type]` as `vfio.h` and `iommufd.h` declare them; each size is the kernel's `minsz`. */
const ARG = {
  /** `struct vfio_iommu_type1_dma_map`. */
  mapDma: modelStruct(32, { argsz: [0, 'u32'], flags: [4, 'u32'], vaddr: [8, 'u64'], iova: [16, 'u64'], size: [24, 'u64'] }),
  /** `struct vfio_iommu_type1_dma_unmap` (no bitmap: dirty tracking is never started). */
  unmapDma: modelStruct(24, { argsz: [0, 'u32'], flags: [4, 'u32'], iova: [8, 'u64'], size: [16, 'u64'] }),
  /** The `int` fd of VFIO_GROUP_SET_CONTAINER. */
  containerFd: modelStruct(4, { fd: [0, 'i32'] }),
  /** `struct vfio_region_info`: the kernel's minsz is `offsetofend(..., offset)`, the whole 32 bytes, copied in before `argsz` is read. */
  regionInfo: modelStruct(32, { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], capOffset: [12, 'u32'], size: [16, 'u64'], offset: [24, 'u64'] }),
  /** `struct vfio_irq_info`. */
  irqInfo: modelStruct(16, { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], count: [12, 'u32'] }),
  /** `struct vfio_irq_set` header; the data follows at byte 20. */
  irqSet: modelStruct(20, { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], start: [12, 'u32'], count: [16, 'u32'] }),
  /** `struct vfio_device_bind_iommufd`. */
  bindIommufd: modelStruct(16, { argsz: [0, 'u32'], flags: [4, 'u32'], iommufd: [8, 'i32'], outDevid: [12, 'u32'] }),
  /** `struct vfio_device_attach_iommufd_pt`. */
  attachPt: modelStruct(12, { argsz: [0, 'u32'], flags: [4, 'u32'], ptId: [8, 'u32'] }),
  /** `struct vfio_device_detach_iommufd_pt`: minsz `offsetofend(..., flags)`, 8. */
  detachPt: modelStruct(8, { argsz: [0, 'u32'], flags: [4, 'u32'] }),
  /** `struct vfio_group_status`: minsz `offsetofend(..., flags)`, 8. */
  groupStatus: modelStruct(8, { argsz: [0, 'u32'], flags: [4, 'u32'] }),
  /** `struct vfio_device_info`: minsz `offsetofend(..., num_irqs)`, 16; `cap_offset` @16 (and, from 6.6, `pad` @20) lie past it. */
  deviceInfo: modelStruct(16, { argsz: [0, 'u32'], flags: [4, 'u32'], numRegions: [8, 'u32'], numIrqs: [12, 'u32'] }),
  /** `struct vfio_iommu_type1_info`: minsz `offsetofend(..., iova_pgsizes)`, 16; `cap_offset` @16 lies past it. */
  iommuInfo: modelStruct(16, { argsz: [0, 'u32'], flags: [4, 'u32'], iovaPgsizes: [8, 'u64'] }),
  /** iommufd.h `struct iommu_destroy`: `size`, `id`; its size is its min_size. */
  destroy: modelStruct(8, { size: [0, 'u32'], id: [4, 'u32'] }),
  /** iommufd.h `struct iommu_ioas_alloc`: min_size `offsetofend(..., out_ioas_id)`, 12. */
  ioasAlloc: modelStruct(12, { size: [0, 'u32'], flags: [4, 'u32'], outIoasId: [8, 'u32'] }),
  /** iommufd.h `struct iommu_ioas_map`: min_size `offsetofend(..., iova)`, 40. */
  ioasMap: modelStruct(40, { size: [0, 'u32'], flags: [4, 'u32'], ioasId: [8, 'u32'], reserved: [12, 'u32'], userVa: [16, 'u64'], length: [24, 'u64'], iova: [32, 'u64'] }),
  /** iommufd.h `struct iommu_ioas_unmap`: min_size `offsetofend(..., length)`, 24. */
  ioasUnmap: modelStruct(24, { size: [0, 'u32'], ioasId: [4, 'u32'], iova: [8, 'u64'], length: [16, 'u64'] }),
} as const;

/** A BAR of a model device. */
export interface ModelBar {
  /** BAR number 0-5 (a 64-bit BAR also takes the next number, which then reads as size 0). */
  readonly index: number;
  /** Bytes: a power of two, at least 16 (memory) or 4 (I/O). */
  readonly size: number;
  /** `mem32`, `mem64` or `io`. */
  readonly kind: 'mem32' | 'mem64' | 'io';
  /** The address the host's enumeration gave it: the device's own BAR register, and the start of vfio's virtual copy at open. */
  readonly hostAddress: number;
}

/** One PCI function behind vfio-pci in the model. */
export interface ModelDeviceSpec {
  /** The PCI name `dddd:bb:dd.f` GROUP_GET_DEVICE_FD takes. */
  readonly address: string;
  /** The IOMMU group number (`/dev/vfio/<group>`). */
  readonly group: number;
  /** MSI-X Table Size + 1 (1-2048); the table is at offset 0 of `msixBar`, the PBA at {@link ModelPciDevice.msixPbaOffset}. Default 8. */
  readonly msixVectors?: number;
  /** Vectors the MSI capability can ask for: 1, 2, 4, 8, 16 or 32 (Multiple Message Capable). Default 4. */
  readonly msiVectors?: number;
  /** Interrupt Pin: 0 (no INTx) to 4 (INTD). Default 1 (INTA). */
  readonly intxPin?: number;
  /** Whether vfio-pci can add MSI-X vectors while enabled (Linux ≥ 6.5 with dynamic MSI-X): no NORESIZE flag. Default false. */
  readonly dynamicMsix?: boolean;
  /** Host vectors the platform can still allocate for this device (SET_IRQS enable answers this count when asked for more, ENOSPC when it is 0). Default 2048. */
  readonly hostVectors?: number;
  /** Whether the reset tried at open works (VFIO_DEVICE_FLAGS_RESET). Default true. */
  readonly resetWorks?: boolean;
  /**
   * A PCI Express function: a PCI Express capability (ID 10h, version 2, endpoint) at 0x60 and
   * 4096 bytes of config space; `flr` sets Device Capabilities bit 28 (Function Level Reset
   * Capability, default true). Default false: a conventional PCI function (256 bytes, no ERR IRQ).
   */
  readonly pcie?: false | ModelPcieSpec;
  /**
   * An Advanced Features capability (ID 13h) at 0xA0, as a conventional PCI function has for FLR:
   * AF Capabilities with TP and FLR as configured (each default true). Default false: none.
   */
  readonly advancedFeatures?: false | ModelAdvancedFeaturesSpec;
}

/** The Advanced Features part of a {@link ModelDeviceSpec}. */
export interface ModelAdvancedFeaturesSpec {
  /** AF Capabilities bit 1, FLR. Default true. */
  readonly flr?: boolean;
  /** AF Capabilities bit 0, TP (Transactions Pending); vfio-pci resets on AF FLR only with it. Default true. */
  readonly tp?: boolean;
}

/** The PCI Express part of a {@link ModelDeviceSpec}. */
export interface ModelPcieSpec {
  /** Device Capabilities bit 28, Function Level Reset Capability. Default true. */
  readonly flr?: boolean;
}

/** How to build a {@link VfioKernelModel}; every field is optional. */
export interface VfioModelOptions {
  /** The functions bound to vfio-pci. Default: one at `0000:01:00.0` in group 7. */
  readonly devices?: readonly ModelDeviceSpec[];
  /** Group numbers that are not viable (another device of the group is bound to a host driver). Default none. */
  readonly nonViableGroups?: readonly number[];
  /** Whether the kernel has the device cdev and iommufd (Linux 6.6 with CONFIG_VFIO_DEVICE_CDEV): `/dev/vfio/devices/vfioN` and `/dev/iommu`. Default true. */
  readonly cdev?: boolean;
  /** Type1 DMA mappings a container may hold (`dma_entry_limit`). Default 65535. */
  readonly dmaEntryLimit?: number;
  /** Most open fds (EMFILE beyond). Default: what this process may still open under its real RLIMIT_NOFILE. */
  readonly maxFds?: number;
}

/** A DMA mapping the model holds (type1 container or iommufd IOAS). */
export interface ModelDmaMapping {
  /** Process address. */
  readonly vaddr: bigint;
  /** IO virtual address. */
  readonly iova: bigint;
  /** Bytes. */
  readonly size: bigint;
}

/** An interrupt index's state inside vfio-pci for one device. */
export interface ModelIrqState {
  /** The active mode: at most one of INTx, MSI, MSI-X (vfio_pci_intrs.c irq_type). */
  mode: 'none' | 'intx' | 'msi' | 'msix';
  /** Host vectors allocated for MSI / MSI-X (0 otherwise); dynamic MSI-X adds to them. */
  allocated: Set<number>;
  /** The trigger eventfd bound to each vector (MSI, MSI-X) or to INTx (vector 0). */
  readonly triggers: Map<number, ModelEventFd>;
  /** INTx: vfio masked the line (automask after an interrupt, ACTION_MASK, or the guest setting INTx Disable). */
  intxMasked: boolean;
  /** INTx: the eventfd whose signal unmasks (the virqfd of ACTION_UNMASK with DATA_EVENTFD). */
  unmaskFd: ModelEventFd | undefined;
  /** MSI: log2 of the vectors last enabled by SET_IRQS (what Multiple Message Capable reads as). */
  msiQmax: number;
  /** ERR: the eventfd vfio-pci signals on an AER error (`err_trigger`), kept until replaced, unbound or the last close. */
  errTrigger: ModelEventFd | undefined;
  /** REQ: the eventfd vfio-pci signals when the host asks for the device back (`req_trigger`), as {@link errTrigger}. */
  reqTrigger: ModelEventFd | undefined;
}

/** A model PCI function: its config space as the device holds it, its BARs and vfio-pci's state. */
export class ModelPciDevice {
  /** The PCI name. */
  readonly address: string;
  /** The IOMMU group number. */
  readonly group: number;
  /** MSI-X vectors (Table Size + 1). */
  readonly msixVectors: number;
  /** MSI vectors the capability can ask for. */
  readonly msiVectors: number;
  /** Interrupt Pin (0 = none). */
  readonly intxPin: number;
  /** Dynamic MSI-X (no NORESIZE). */
  readonly dynamicMsix: boolean;
  /** Host vectors available. */
  readonly hostVectors: number;
  /** Whether VFIO_DEVICE_RESET works. */
  readonly resetWorks: boolean;
  /** Whether the function is PCI Express (a PCI Express capability at {@link pcieCapability}). */
  readonly pcie: boolean;
  /** Whether Device Capabilities advertises Function Level Reset (PCI Express functions only). */
  readonly flr: boolean;
  /** Config-space offset of the PCI Express capability, or undefined on a conventional function. */
  readonly pcieCapability: number | undefined;
  /** AF Capabilities (TP bit 0, FLR bit 1) of the Advanced Features capability, or undefined without one. */
  readonly advancedFeatures: number | undefined;
  /** Bytes of config space: 256, or 4096 for PCI Express. */
  readonly configSize: number;
  /**
   * The device lock is held elsewhere (another reset, a sysfs access): VFIO_DEVICE_RESET answers
   * EAGAIN and changes nothing (vfio_pci_ioctl_reset, docs/interfaces/vfio.md, "Reset"). Tests set it.
   */
  resetBusy = false;
  /** Function resets vfio-pci ran itself for a guest's Initiate Function Level Reset write (vfio_exp_config_write, vfio_af_config_write). */
  kernelFlrs = 0;
  /** BARs: 0 mem32 16 KiB of registers, 2 mem64 16 KiB with the MSI-X table at 0 and the PBA at 0x2000, 4 io 32 bytes; host addresses 0xFE000000, 0xFE004000, I/O 0xE000. */
  readonly bars: readonly ModelBar[] = Object.freeze([
    { index: 0, size: 0x4000, kind: 'mem32', hostAddress: 0xfe00_0000 },
    { index: 2, size: 0x4000, kind: 'mem64', hostAddress: 0xfe00_4000 },
    { index: 4, size: 0x20, kind: 'io', hostAddress: 0xe000 },
  ]);
  /** The BAR holding the MSI-X table (at offset 0) and PBA (at {@link msixPbaOffset}). */
  readonly msixBar = 2;
  /** The PBA's offset in {@link msixBar}. */
  readonly msixPbaOffset = 0x2000;
  /** The device's own config bytes (what it would answer to the host). */
  readonly config: Uint8Array;
  /** vfio-pci's virtual copy of the BAR registers, ROM BAR, Interrupt Line and MSI address/data. */
  readonly vconfig: Uint8Array;
  /** BAR contents, by BAR index. */
  readonly barMemory = new Map<number, Uint8Array>();
  /** vfio-pci's interrupt state. */
  readonly irq: ModelIrqState = { mode: 'none', allocated: new Set(), triggers: new Map(), intxMasked: false, unmaskFd: undefined, msiQmax: 0, errTrigger: undefined, reqTrigger: undefined };
  /** The device asserts its INTx line (level). */
  intxAsserted = false;
  /** Open device fds (legacy or cdev). */
  opens = 0;
  /** Resets done (at open, VFIO_DEVICE_RESET, last close). */
  resets = 0;

  /** @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) for a spec that is not a {@link ModelDeviceSpec}, naming the field, before anything is made. */
  constructor(spec: ModelDeviceSpec) {
    checkDeviceSpec('new ModelPciDevice', 'spec', spec);
    this.address = spec.address;
    this.group = spec.group;
    this.msixVectors = spec.msixVectors ?? 8;
    this.msiVectors = spec.msiVectors ?? 4;
    this.intxPin = spec.intxPin ?? 1;
    this.dynamicMsix = spec.dynamicMsix ?? false;
    this.hostVectors = spec.hostVectors ?? 2048;
    this.resetWorks = spec.resetWorks ?? true;
    this.pcie = spec.pcie !== undefined && spec.pcie !== false;
    this.flr = this.pcie && (spec.pcie as { flr?: boolean }).flr !== false;
    this.pcieCapability = this.pcie ? PCIE_CAP : undefined;
    const af = spec.advancedFeatures;
    this.advancedFeatures = af ? (af.tp !== false ? AF_CAP_TP : 0) | (af.flr !== false ? AF_CAP_FLR : 0) : undefined;
    this.configSize = this.pcie ? PCIE_CFG_SIZE : CFG_SIZE;
    this.config = new Uint8Array(this.configSize);
    this.vconfig = new Uint8Array(this.configSize);
    for (const b of this.bars) this.barMemory.set(b.index, new Uint8Array(b.size));
    this.powerOn();
  }

  /** BAR `index` of the model, or undefined (unimplemented, or the upper half of a 64-bit BAR). */
  bar(index: number): ModelBar | undefined {
    return this.bars.find((b) => b.index === index);
  }

  /** Config space at power-on / after a function reset and the host's restore: Command 0, MSI and MSI-X off, the BARs at their host addresses. */
  powerOn(): void {
    const c = new DataView(this.config.buffer);
    this.config.fill(0);
    c.setUint16(0x00, 0x1af4, true); // Vendor ID
    c.setUint16(0x02, 0x10f0, true); // Device ID
    c.setUint16(0x06, STATUS_CAP_LIST, true);
    c.setUint8(0x08, 1); // Revision
    c.setUint8(0x0b, 0x02); // Class: network controller
    c.setUint8(0x34, MSI_CAP);
    c.setUint8(0x3d, this.intxPin);
    // The BAR registers as the host's enumeration programmed them (restored after a reset by pci_restore_state).
    for (const b of this.bars) c.setUint32(0x10 + 4 * b.index, b.hostAddress | (b.kind === 'io' ? 1 : b.kind === 'mem64' ? 4 : 0), true);
    // MSI: ID 5, next MSI-X, Message Control: 64-bit (bit 7), Multiple Message Capable (bits 3:1).
    c.setUint8(MSI_CAP, 0x05);
    c.setUint8(MSI_CAP + 1, MSIX_CAP);
    c.setUint16(MSI_CAP + 2, 0x80 | (Math.log2(this.msiVectors) << 1), true);
    // MSI-X: ID 0x11, next the PCI Express capability or end of list, Table Size (N - 1), Table BIR 2
    // offset 0, PBA BIR 2 offset 0x2000.
    c.setUint8(MSIX_CAP, 0x11);
    const afNext = this.advancedFeatures === undefined ? 0 : AF_CAP;
    c.setUint8(MSIX_CAP + 1, this.pcie ? PCIE_CAP : afNext);
    c.setUint16(MSIX_CAP + 2, this.msixVectors - 1, true);
    c.setUint32(MSIX_CAP + 4, this.msixBar, true);
    c.setUint32(MSIX_CAP + 8, this.msixPbaOffset | this.msixBar, true);
    if (this.pcie) {
      // PCI Express capability (PCIe Base Specification, "PCI Express Capability Structure"): ID 10h,
      // end of list; PCI Express Capabilities: version 2, Device/Port Type 0 (endpoint); Device
      // Capabilities: Function Level Reset Capability (bit 28) as configured; Device Control at its
      // default 2810h (Enable Relaxed Ordering, Enable No Snoop, Max_Read_Request_Size 512 bytes).
      c.setUint8(PCIE_CAP, 0x10);
      c.setUint8(PCIE_CAP + 1, afNext);
      c.setUint16(PCIE_CAP + 2, 0x0002, true);
      c.setUint32(PCIE_CAP + PCIE_DEVCAP, this.flr ? DEVCAP_FLR : 0, true);
      c.setUint16(PCIE_CAP + PCIE_DEVCTL, 0x2810, true);
    }
    if (this.advancedFeatures !== undefined) {
      c.setUint8(AF_CAP, 0x13);
      c.setUint8(AF_CAP + 1, 0);
      c.setUint8(AF_CAP + 2, AF_SIZE);
      c.setUint8(AF_CAP + 3, this.advancedFeatures);
    }
    this.vconfig.fill(0);
    // vfio_config_init fills vfio's copy of the header and of each capability from the device at
    // open: the BAR registers (host addresses) and MSI Message Control's low byte are virtual.
    this.vconfig.set(this.config.subarray(0x10, 0x28), 0x10);
    this.vconfig[MSI_CAP + 2] = this.config[MSI_CAP + 2]!;
    this.intxAsserted = false;
  }
}

interface Container {
  readonly kind: 'container';
  readonly groups: Set<GroupState>;
  iommu: number | undefined;
  readonly mappings: ModelDmaMapping[];
  /** Mappings whose process address UNMAP_DMA with VADDR invalidated, until MAP_DMA with VADDR gives a new one. */
  readonly vaddrInvalid: Set<ModelDmaMapping>;
}

/** An IOMMU group as the kernel holds it. */
interface GroupState {
  readonly number: number;
  readonly viable: boolean;
  readonly devices: ModelPciDevice[];
  /** Open as `/dev/vfio/<n>` (a second open is EBUSY), until the file is released. */
  open: boolean;
  container: Container | undefined;
  /** Device fds got through GROUP_GET_DEVICE_FD and not yet released: each holds the group file. */
  openDevices: number;
  /** The group fd's last number was closed while device fds still held the file: released with the last of them. */
  releasePending: boolean;
}

interface GroupFile {
  readonly kind: 'group';
  readonly group: GroupState;
}

interface DeviceFile {
  readonly kind: 'device';
  readonly device: ModelPciDevice;
  readonly via: 'group' | 'cdev';
  /** Group-opened device fds are usable at once; a cdev only after BIND_IOMMUFD. */
  bound: Iommufd | undefined;
  ioas: Ioas | undefined;
  released: boolean;
}

interface Ioas {
  readonly id: number;
  readonly mappings: ModelDmaMapping[];
  readonly attached: Set<DeviceFile>;
}

interface Iommufd {
  readonly kind: 'iommufd';
  readonly objects: Map<number, Ioas>;
  nextId: number;
  /** Device cdevs bound to it: each holds the iommufd file. */
  boundDevices: number;
  /** Its last number was closed while devices were bound: released with the last unbind. */
  releasePending: boolean;
}

type FdObject = Container | GroupFile | DeviceFile | Iommufd | ModelEventFd;

/** What happened to a device-side interrupt: the eventfd signalled, or why nothing was. */
export type RaiseOutcome = 'signalled' | 'not-enabled' | 'no-eventfd' | 'masked';

/**
 * The VFIO model: a {@link VfioSyscalls} that answers /dev/vfio/vfio, group, device, cdev and
 * /dev/iommu calls as the kernel does (errnos included), decoding every argument from raw bytes.
 * `poll` and epoll are not modelled (ENOSYS).
 */
export class VfioKernelModel extends ModelKernel<FdObject> implements VfioSyscalls {
  /** Things a correct VMM never leaves behind; tests assert it stays empty. */
  readonly hazards: string[] = [];
  /** Every device, by PCI name. */
  readonly devices: ReadonlyMap<string, ModelPciDevice>;
  private readonly groups = new Map<number, GroupState>();
  private readonly cdev: boolean;
  private readonly dmaEntryLimit: number;

  /** INVALID_ARGUMENT, naming the option, for an unknown option or a value out of range. */
  constructor(options: VfioModelOptions = {}) {
    const op = 'new VfioKernelModel';
    const o = checkOptions<VfioModelOptions>(op, 'options', options, ['devices', 'nonViableGroups', 'cdev', 'dmaEntryLimit', 'maxFds']);
    const devices: unknown = o.devices ?? [{ address: '0000:01:00.0', group: 7 }];
    const nonViable: unknown = o.nonViableGroups ?? [];
    const cdev: unknown = o.cdev ?? true;
    const dmaEntryLimit: unknown = o.dmaEntryLimit;
    const maxFds: unknown = o.maxFds;
    super(maxFds === undefined ? undefined : checkInteger(op, 'maxFds', maxFds, 0, 1 << 30));
    if (!Array.isArray(devices) || devices.length < 1) throw invalidArgument(op, `devices must be a non-empty array, got ${describeValue(devices)}`);
    if (!Array.isArray(nonViable)) throw invalidArgument(op, `nonViableGroups must be an array of group numbers, got ${describeValue(nonViable)}`);
    if (typeof cdev !== 'boolean') throw invalidArgument(op, `cdev must be a boolean, got ${describeValue(cdev)}`);
    this.cdev = cdev;
    this.dmaEntryLimit = dmaEntryLimit === undefined ? 65535 : checkInteger(op, 'dmaEntryLimit', dmaEntryLimit, 0, 1 << 30);
    const bad = new Set((nonViable as unknown[]).map((g, i) => checkInteger(op, `nonViableGroups[${i}]`, g, 0, 1 << 30)));
    const byName = new Map<string, ModelPciDevice>();
    (devices as unknown[]).forEach((d, i) => {
      const spec = checkDeviceSpec(op, `devices[${i}]`, d);
      if (byName.has(spec.address)) throw invalidArgument(op, `devices[${i}].address must be a new PCI name dddd:bb:dd.f in lower case, got ${describeValue(spec.address)}`);
      const dev = new ModelPciDevice(spec);
      byName.set(dev.address, dev);
      let g = this.groups.get(dev.group);
      if (!g) this.groups.set(dev.group, (g = { number: dev.group, viable: !bad.has(dev.group), devices: [], open: false, container: undefined, openDevices: 0, releasePending: false }));
      g.devices.push(dev);
    });
    this.devices = byName;
  }

  // ---- inspection and the device side -------------------------------------------------------
  /**
   * Writes a fake sysfs tree for the model's devices under `root` (an empty temporary directory),
   * as the kernel lays it out: `bus/pci/devices/<address>/` with a `driver` link to
   * `bus/pci/drivers/vfio-pci`, an `iommu_group` link to `kernel/iommu_groups/<n>` (whose
   * `devices/` links back), and `vfio-dev/vfio<N>/` when the model has the cdev. `others` adds
   * functions that are not the model's: bound to `driver` (none when undefined), in `group` (none:
   * no IOMMU). Pass `root` as `sysfs` to `VfioDevice.open`.
   */
  writeSysfs(root: string, others: ReadonlyArray<{ readonly address: string; readonly group?: number; readonly driver?: string }> = []): void {
    const op = 'VfioKernelModel.writeSysfs';
    if (typeof root !== 'string' || root === '') throw invalidArgument(op, `root must be a directory path (a new, empty directory), got ${describeValue(root)}`);
    if (!Array.isArray(others)) throw invalidArgument(op, `others must be an array of { address, group?, driver? }, got ${describeValue(others)}`);
    others.forEach((o: unknown, i) => {
      const x = checkOptions<{ address: string; group?: number; driver?: string }>(op, `others[${i}]`, o, ['address', 'group', 'driver']);
      if (typeof x.address !== 'string' || !/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(x.address)) throw invalidArgument(op, `others[${i}].address must be a PCI name dddd:bb:dd.f in lower case, got ${describeValue(x.address)}`);
      if (x.group !== undefined) checkInteger(op, `others[${i}].group`, x.group, 0, 1 << 30);
      if (x.driver !== undefined && (typeof x.driver !== 'string' || !/^[\w-]+$/.test(x.driver))) throw invalidArgument(op, `others[${i}].driver must be a driver name, got ${describeValue(x.driver)}`);
    });
    try {
      this.writeSysfsTree(root, others);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new VirtError('SYSCALL', {
        operation: op,
        detail: `writing the sysfs tree under ${root} failed: ${err.message}`,
        hint: 'Pass a new, empty directory (mkdtemp) that this process can write.',
        errnoName: err.code,
        errno: typeof err.errno === 'number' ? -err.errno : undefined,
        cause: e,
      });
    }
  }

  private writeSysfsTree(root: string, others: ReadonlyArray<{ readonly address: string; readonly group?: number; readonly driver?: string }>): void {
    const fn = (address: string, group: number | undefined, driver: string | undefined, cdev: string | undefined): void => {
      const dev = join(root, 'bus/pci/devices', address);
      mkdirSync(dev, { recursive: true });
      if (driver !== undefined) {
        mkdirSync(join(root, 'bus/pci/drivers', driver), { recursive: true });
        symlinkSync(join(root, 'bus/pci/drivers', driver), join(dev, 'driver'));
      }
      if (group !== undefined) {
        const g = join(root, 'kernel/iommu_groups', String(group));
        mkdirSync(join(g, 'devices'), { recursive: true });
        symlinkSync(g, join(dev, 'iommu_group'));
        symlinkSync(dev, join(g, 'devices', address));
      }
      if (cdev !== undefined) mkdirSync(join(dev, 'vfio-dev', cdev), { recursive: true });
    };
    [...this.devices.values()].forEach((d, i) => fn(d.address, d.group, 'vfio-pci', this.cdev ? `vfio${i}` : undefined));
    for (const o of others) fn(o.address, o.group, o.driver, undefined);
  }

  /**
   * The device `address`.
   *
   * @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) for an address the model has no device at.
   */
  device(address = '0000:01:00.0', operation = 'VfioKernelModel.device'): ModelPciDevice {
    const d = typeof address === 'string' ? this.devices.get(address) : undefined;
    if (!d) throw invalidArgument(operation, `the model has no device ${describeValue(address)} (its devices: ${[...this.devices.keys()].join(', ')})`);
    return d;
  }

  /** Open fd numbers now. */
  get openFds(): number {
    return this.table.size;
  }

  /** The eventfd's counter (undefined when `fd` is not an open eventfd). */
  eventfdCount(fd: number): bigint | undefined {
    return this.table.counter(fd);
  }

  /** The DMA mappings of the container or iommufd IOAS behind `fd` (`ioasId` for an iommufd), in IOVA order. */
  mappings(fd: number, ioasId?: number): ModelDmaMapping[] {
    const o = this.table.get(fd);
    if (o && !isEventFd(o) && o.kind === 'container') return [...o.mappings].sort((a, b) => (a.iova < b.iova ? -1 : 1));
    if (o && !isEventFd(o) && o.kind === 'iommufd' && ioasId !== undefined) return [...(o.objects.get(ioasId)?.mappings ?? [])].sort((a, b) => (a.iova < b.iova ? -1 : 1));
    return [];
  }

  /** Whether the eventfd behind `fd` is vector `vector`'s trigger of `irq` on `address` now. */
  isTrigger(fd: number, index: 'intx' | 'msi' | 'msix', vector: number, address?: string): boolean {
    const d = this.device(address);
    const e = this.table.eventFd(fd);
    return e !== undefined && d.irq.mode === index && d.irq.triggers.get(vector) === e;
  }

  /**
   * The device raises MSI-X vector `vector`: with MSI-X enabled and an eventfd bound to the vector,
   * vfio-pci's handler signals it (eventfd_signal adds 1). Returns what happened.
   *
   * @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) for a device the model does not have, or a
   *   vector that is not an integer below the device's MSI-X Table Size + 1, before anything is signalled.
   */
  raiseMsix(vector: number, address?: string): RaiseOutcome {
    const op = 'VfioKernelModel.raiseMsix';
    const d = this.device(address, op);
    return this.raiseMessage(d, 'msix', checkInteger(op, 'vector', vector, 0, d.msixVectors - 1));
  }

  /**
   * The device raises MSI vector `vector` (of the block enabled), as {@link raiseMsix}.
   *
   * @throws VirtError INVALID_ARGUMENT for a device the model does not have, or a vector that is not
   *   an integer below the vectors its MSI capability can ask for.
   */
  raiseMsi(vector: number, address?: string): RaiseOutcome {
    const op = 'VfioKernelModel.raiseMsi';
    const d = this.device(address, op);
    return this.raiseMessage(d, 'msi', checkInteger(op, 'vector', vector, 0, d.msiVectors - 1));
  }

  private raiseMessage(d: ModelPciDevice, mode: 'msi' | 'msix', vector: number): RaiseOutcome {
    if (d.irq.mode !== mode || !d.irq.allocated.has(vector)) return 'not-enabled';
    const e = d.irq.triggers.get(vector);
    if (!e) return 'no-eventfd';
    this.signal(e);
    return 'signalled';
  }

  /**
   * The device asserts INTx (level, stays asserted until {@link deassertIntx}). With INTx enabled
   * and not masked, vfio-pci masks the line (automask) and signals the trigger; otherwise the
   * interrupt only shows in Status bit 3, and an unmask delivers it.
   *
   * @throws VirtError INVALID_ARGUMENT for a device the model does not have.
   */
  assertIntx(address?: string): RaiseOutcome {
    const d = this.device(address, 'VfioKernelModel.assertIntx');
    d.intxAsserted = true;
    return this.intxInterrupt(d);
  }

  /** The device deasserts INTx (its interrupt condition was serviced). */
  deassertIntx(address?: string): void {
    this.device(address, 'VfioKernelModel.deassertIntx').intxAsserted = false;
  }

  /** vfio_intx_handler: an unmasked line is masked (automask) and the trigger signalled. */
  private intxInterrupt(d: ModelPciDevice): RaiseOutcome {
    if (d.irq.mode !== 'intx') return 'not-enabled';
    if (d.irq.intxMasked || this.intxDisabledByGuest(d)) return 'masked';
    d.irq.intxMasked = true;
    return this.sendIntx(d);
  }

  /** vfio_send_intx_eventfd: signals the trigger, never while the guest's INTx Disable (virq_disabled) is set. */
  private sendIntx(d: ModelPciDevice): RaiseOutcome {
    if (d.irq.mode !== 'intx' || this.intxDisabledByGuest(d)) return 'masked';
    const e = d.irq.triggers.get(0);
    if (!e) return 'no-eventfd';
    this.signal(e);
    return 'signalled';
  }

  /** The guest's (virtual) Command INTx Disable: vfio-pci's `virq_disabled`. */
  private intxDisabledByGuest(d: ModelPciDevice): boolean {
    return (new DataView(d.vconfig.buffer).getUint16(0x04, true) & CMD_INTX_DISABLE) !== 0;
  }

  /** vfio_pci_intx_mask (ACTION_MASK, or the guest setting INTx Disable): the line is masked. */
  private intxMask(d: ModelPciDevice): void {
    if (d.irq.mode === 'intx') d.irq.intxMasked = true;
  }

  /**
   * vfio_pci_intx_unmask (ACTION_UNMASK, the unmask virqfd, or the guest clearing INTx Disable):
   * nothing while the guest's INTx Disable is set; a device still asserting is delivered again and
   * the line stays masked; otherwise the line is unmasked.
   */
  private intxUnmask(d: ModelPciDevice): void {
    if (d.irq.mode !== 'intx' || !d.irq.intxMasked || this.intxDisabledByGuest(d)) return;
    if (d.intxAsserted) this.sendIntx(d);
    else d.irq.intxMasked = false;
  }

  private signal(e: ModelEventFd): void {
    // eventfd_signal adds 1 (a saturated counter stays: eventfd_signal never fails its caller).
    if (e.count < 0xffff_ffff_ffff_fffen) e.count += 1n;
    this.eventFdWritten(e);
  }

  /** After any write to `e`: a virqfd on it consumes the counter and unmasks its device's INTx (virqfd.c). */
  protected override eventFdWritten(e: ModelEventFd): void {
    for (const d of this.devices.values()) {
      if (d.irq.unmaskFd === e && e.count > 0n) {
        e.count = 0n;
        this.intxUnmask(d);
        return;
      }
    }
    super.eventFdWritten(e);
  }

  // ---- Syscalls ------------------------------------------------------------------------------

  /** @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) when `path` is not a string (the kernel takes a C string). */
  override open(path: string, _flags: number): number {
    if (typeof path !== 'string') throw invalidArgument('VfioKernelModel.open', `path must be a string, got ${describeValue(path)}`);
    if (path === '/dev/vfio/vfio') return this.table.install({ kind: 'container', groups: new Set(), iommu: undefined, mappings: [], vaddrInvalid: new Set() });
    if (path === '/dev/iommu') return this.cdev ? this.table.install({ kind: 'iommufd', objects: new Map(), nextId: 1, boundDevices: 0, releasePending: false }) : -ENOENT;
    const g = /^\/dev\/vfio\/(\d+)$/.exec(path);
    if (g) {
      const group = this.groups.get(Number(g[1]));
      if (!group) return -ENOENT;
      if (group.open) return -EBUSY;
      if (this.cdevBoundIn(group)) return -EBUSY;
      const fd = this.table.install({ kind: 'group', group });
      if (fd >= 0) group.open = true;
      return fd;
    }
    const c = /^\/dev\/vfio\/devices\/vfio(\d+)$/.exec(path);
    if (c && this.cdev) {
      const device = [...this.devices.values()][Number(c[1])];
      if (!device) return -ENOENT;
      return this.table.install({ kind: 'device', device, via: 'cdev', bound: undefined, ioas: undefined, released: false });
    }
    return -ENOENT;
  }

  /** The cdev node of device `address`: `/dev/vfio/devices/vfio<N>`, N its position in `devices`. */
  cdevPath(address = '0000:01:00.0'): string {
    return `/dev/vfio/devices/vfio${[...this.devices.keys()].indexOf(this.device(address).address)}`;
  }

  private cdevBoundIn(group: GroupState): boolean {
    for (const [, f] of this.table.entries()) if (!isEventFd(f) && f.kind === 'device' && f.via === 'cdev' && f.bound && group.devices.includes(f.device)) return true;
    return false;
  }

  /**
   * The last number of `f` closed: the kernel's release of that file.
   *
   * @hidden
   */
  protected override release(f: FdObject): void {
    if (isEventFd(f)) {
      // A virqfd goes with its eventfd (EPOLLHUP); a trigger keeps the eventfd context alive.
      for (const d of this.devices.values()) if (d.irq.unmaskFd === f) d.irq.unmaskFd = undefined;
      return;
    }
    switch (f.kind) {
      case 'container':
        // Attached groups hold the container (a reference, not the file): it lives on with its
        // IOMMU and mappings until the last group leaves (container.c).
        return;
      case 'group':
        // Device fds hold the group file: its release waits for the last of them (group.c).
        if (f.group.openDevices > 0) f.group.releasePending = true;
        else this.releaseGroup(f.group);
        return;
      case 'device':
        this.releaseDevice(f);
        return;
      case 'iommufd':
        // A bound device holds the iommufd file: its release waits for the last unbind.
        if (f.boundDevices > 0) f.releasePending = true;
        else this.releaseIommufd(f);
        return;
    }
  }

  private releaseIommufd(f: Iommufd): void {
    f.releasePending = false;
    for (const ioas of f.objects.values()) {
      if (ioas.mappings.length > 0) this.hazards.push(`an iommufd was closed with ${ioas.mappings.length} DMA mapping(s) still in IOAS ${ioas.id}`);
    }
  }

  private releaseGroup(g: GroupState): void {
    g.open = false;
    g.releasePending = false;
    this.detachGroup(g);
  }

  private detachGroup(g: GroupState): void {
    const c = g.container;
    if (!c) return;
    c.groups.delete(g);
    g.container = undefined;
    if (c.groups.size === 0 && c.iommu !== undefined) {
      if (c.mappings.length > 0) this.hazards.push(`a container lost its last group with ${c.mappings.length} DMA mapping(s) still mapped`);
      c.mappings.length = 0;
      c.vaddrInvalid.clear();
      c.iommu = undefined;
    }
  }

  private releaseDevice(f: DeviceFile): void {
    if (f.released) return;
    f.released = true;
    f.ioas?.attached.delete(f);
    if (f.via === 'cdev' && !f.bound) return;
    const d = f.device;
    d.opens--;
    if (d.opens === 0) this.lastDeviceClose(d);
    if (f.bound) {
      // Closing the cdev unbinds it from its iommufd.
      const i = f.bound;
      i.boundDevices--;
      if (i.boundDevices === 0 && i.releasePending) this.releaseIommufd(i);
    }
    if (f.via === 'group') {
      const g = this.groups.get(d.group)!;
      g.openDevices--;
      if (g.openDevices === 0 && g.releasePending) this.releaseGroup(g);
    }
  }

  /** The last fd of `d` closed: vfio-pci disables its interrupts and resets it (vfio_pci_core_disable). */
  private lastDeviceClose(d: ModelPciDevice): void {
    const bound = [...d.irq.triggers.keys()];
    if (bound.length > 0) this.hazards.push(`device ${d.address} was closed with eventfds still bound to ${d.irq.mode} vector(s) ${bound.join(', ')}`);
    if (d.irq.unmaskFd) this.hazards.push(`device ${d.address} was closed with an INTx unmask eventfd still registered`);
    this.disableIrqs(d);
    // vfio_pci_core_close_device drops the ERR and REQ eventfds too.
    d.irq.errTrigger = undefined;
    d.irq.reqTrigger = undefined;
    this.resetDevice(d);
  }

  private openDevice(d: ModelPciDevice): void {
    if (d.opens++ === 0) this.resetDevice(d);
  }

  private resetDevice(d: ModelPciDevice): void {
    d.resets++;
    d.powerOn();
  }

  private disableIrqs(d: ModelPciDevice): void {
    d.irq.mode = 'none';
    d.irq.allocated = new Set();
    d.irq.triggers.clear();
    d.irq.intxMasked = false;
    d.irq.unmaskFd = undefined;
  }

  /** @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) when `request` is not an ioctl definition (`IoctlDef` of `@tsvmm/linux-sys`). */
  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    checkIoctlDef('VfioKernelModel.ioctl', request);
    const o = this.table.get(fd);
    if (!o) return -EBADF;
    if (isEventFd(o)) return -ENOTTY;
    const req = request.request >>> 0;
    switch (o.kind) {
      case 'container':
        return this.containerIoctl(o, req, arg);
      case 'group':
        return this.groupIoctl(o, req, arg);
      case 'device':
        return this.deviceIoctl(o, req, arg);
      case 'iommufd':
        return this.iommufdIoctl(o, req, arg);
    }
  }

  pread(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.regionAccess(fd, buf, length, offset, false);
  }

  pwrite(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.regionAccess(fd, buf, length, offset, true);
  }

  // ---- container -----------------------------------------------------------------------------

  private containerIoctl(c: Container, req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case GET_API_VERSION:
        return 0;
      case CHECK_EXTENSION: {
        const ext = typeof arg === 'number' ? arg : -1;
        // Type1, Type1v2, UNMAP_ALL, UPDATE_VADDR: the type1 driver's answers. DMA_CC is asked of the
        // driver's own state: before SET_IOMMU vfio_container_ioctl_check_extension polls the
        // drivers with no iommu_data and type1 answers 0; after it, 1 on an x86 host with a coherent IOMMU.
        if (ext === 4) return c.iommu === undefined ? 0 : 1;
        return ext === 1 || ext === 3 || ext === 9 || ext === 10 ? 1 : 0;
      }
      case SET_IOMMU: {
        const type = typeof arg === 'number' ? arg : -1;
        if (c.groups.size === 0 || c.iommu !== undefined) return -EINVAL;
        if (type !== TYPE1 && type !== TYPE1V2) return -ENODEV;
        c.iommu = type;
        return 0;
      }
      case IOMMU_GET_INFO:
        return c.iommu === undefined ? -EINVAL : this.iommuGetInfo(c, arg);
      case IOMMU_MAP_DMA:
        return c.iommu === undefined ? -EINVAL : this.mapDma(c, arg);
      case IOMMU_UNMAP_DMA:
        return c.iommu === undefined ? -EINVAL : this.unmapDma(c, arg);
      default:
        // Anything else goes to the IOMMU driver, which knows nothing of it (or there is none).
        return c.iommu === undefined ? -EINVAL : -ENOTTY;
    }
  }

  /** The usable IOVA space of the model host: below the x86 MSI window 0xFEE00000-0xFEEFFFFF, and above it to 2^48 - 1. */
  private static readonly IOVA_RANGES: ReadonlyArray<readonly [bigint, bigint]> = [
    [0n, 0xfedf_ffffn],
    [0xfef0_0000n, 0xffff_ffff_ffffn],
  ];
  private static readonly PAGE = 4096n;

  /**
   * vfio_iommu_type1_get_info: PGSIZES and the page sizes, and always the capability chain the
   * driver builds, in its order: MIGRATION (32 bytes: flags, the smallest page size, the largest
   * dirty bitmap DIRTY_BITMAP_SIZE_MAX = 2^28 bytes), DMA_AVAIL (12, padded to 16), IOVA_RANGE. CAPS is
   * set whatever argsz is; a too-small argsz is raised to the size needed, `cap_offset` (written
   * from argsz 20 on) 0. The chain and then min(argsz, 24) bytes of the struct are copied out:
   * a buffer shorter than either faults (EFAULT, nothing written here).
   */
  private iommuGetInfo(c: Container, arg: number | Uint8Array | undefined): number {
    const a = sized(ARG.iommuInfo, arg);
    if (typeof a === 'number') return a;
    const { argsz, view: v } = a;
    const ranges = VfioKernelModel.IOVA_RANGES;
    const migrationAt = 24;
    const availAt = migrationAt + 32;
    const iovaAt = availAt + 16;
    const need = iovaAt + 16 + 16 * ranges.length;
    if (argsz >= need ? v.byteLength < need : v.byteLength < Math.min(argsz, 24)) return -EFAULT;
    v.setUint32(4, 1 | 2, true); // PGSIZES, CAPS
    v.setBigUint64(8, VfioKernelModel.PAGE | 0x20_0000n | 0x4000_0000n, true);
    if (argsz < need) {
      v.setUint32(0, need, true);
      if (argsz >= 20) v.setUint32(16, 0, true);
      return 0;
    }
    v.setUint32(16, migrationAt, true);
    v.setUint16(migrationAt, 2, true); // MIGRATION
    v.setUint16(migrationAt + 2, 1, true);
    v.setUint32(migrationAt + 4, availAt, true);
    v.setUint32(migrationAt + 8, 0, true);
    v.setUint32(migrationAt + 12, 0, true);
    v.setBigUint64(migrationAt + 16, VfioKernelModel.PAGE, true);
    v.setBigUint64(migrationAt + 24, 0x1000_0000n, true);
    v.setUint16(availAt, 3, true); // DMA_AVAIL
    v.setUint16(availAt + 2, 1, true);
    v.setUint32(availAt + 4, iovaAt, true);
    v.setUint32(availAt + 8, this.dmaEntryLimit - c.mappings.length, true);
    v.setUint32(availAt + 12, 0, true);
    v.setUint16(iovaAt, 1, true); // IOVA_RANGE
    v.setUint16(iovaAt + 2, 1, true);
    v.setUint32(iovaAt + 4, 0, true);
    v.setUint32(iovaAt + 8, ranges.length, true);
    v.setUint32(iovaAt + 12, 0, true);
    ranges.forEach(([s, e], i) => {
      v.setBigUint64(iovaAt + 16 + i * 16, s, true);
      v.setBigUint64(iovaAt + 24 + i * 16, e, true);
    });
    return 0;
  }

  private mapDma(c: Container, arg: number | Uint8Array | undefined): number {
    const a = sized(ARG.mapDma, arg);
    if (typeof a === 'number') return a;
    const { flags, vaddr, iova, size } = a;
    if (flags & ~7) return -EINVAL;
    const prot = flags & 3;
    const setVaddr = (flags & 4) !== 0;
    // vfio_dma_do_map: a new mapping takes READ and/or WRITE; VADDR (a new process address for a
    // mapping UNMAP_DMA invalidated, the UPDATE_VADDR extension) takes neither.
    if ((prot !== 0) === setVaddr) return -EINVAL;
    const P = VfioKernelModel.PAGE;
    if (size === 0n || (size | iova | vaddr) % P !== 0n) return -EINVAL;
    if (iova + size - 1n > U64_MAX || vaddr + size - 1n > U64_MAX) return -EINVAL;
    const last = iova + size - 1n;
    const hit = c.mappings.find((m) => iova <= m.iova + m.size - 1n && m.iova <= last);
    if (setVaddr) {
      // Nothing there: ENOENT; a mapping that is not invalidated, or not exactly this range: EINVAL.
      if (!hit) return -ENOENT;
      if (!c.vaddrInvalid.has(hit) || hit.iova !== iova || hit.size !== size) return -EINVAL;
      c.mappings[c.mappings.indexOf(hit)] = { vaddr, iova, size };
      c.vaddrInvalid.delete(hit);
      return 0;
    }
    // vfio_dma_do_map's order: an overlap (EEXIST), then no entry left (ENOSPC), then outside every usable IOVA range (EINVAL).
    if (hit) return -EEXIST;
    if (c.mappings.length >= this.dmaEntryLimit) return -ENOSPC;
    if (!VfioKernelModel.IOVA_RANGES.some(([s, e]) => iova >= s && last <= e)) return -EINVAL;
    c.mappings.push({ vaddr, iova, size });
    return 0;
  }

  private unmapDma(c: Container, arg: number | Uint8Array | undefined): number {
    const a = sized(ARG.unmapDma, arg);
    if (typeof a === 'number') return a;
    const { flags, iova, size } = a;
    // GET_DIRTY_BITMAP: dirty tracking is never started here, which vfio_dma_do_unmap refuses (EINVAL).
    if (flags & ~6) return -EINVAL;
    let removed: ModelDmaMapping[];
    if (flags & 2) {
      if (iova !== 0n || size !== 0n) return -EINVAL;
      removed = [...c.mappings];
    } else {
      const P = VfioKernelModel.PAGE;
      if (size === 0n || (iova | size) % P !== 0n || iova + size - 1n > U64_MAX) return -EINVAL;
      const last = iova + size - 1n;
      if (c.iommu === TYPE1) {
        // vfio_dma_do_unmap without v2: no bisection check. Walking from the first mapping the range
        // reaches, a mapping that starts below the range stops the walk (success, 0 bytes); every
        // mapping that starts inside it goes whole, even past the range's end.
        const reached = c.mappings.filter((m) => m.iova <= last && m.iova + m.size - 1n >= iova).sort((a, b) => (a.iova < b.iova ? -1 : 1));
        removed = reached.length > 0 && reached[0]!.iova < iova ? [] : reached;
      } else {
        // v2: the range must not cut a mapping in two.
        for (const m of c.mappings) {
          const mLast = m.iova + m.size - 1n;
          if (iova > m.iova && iova <= mLast) return -EINVAL;
          if (last >= m.iova && last < mLast) return -EINVAL;
        }
        removed = c.mappings.filter((m) => m.iova >= iova && m.iova + m.size - 1n <= last);
      }
    }
    if (flags & 4) {
      // VADDR: the mappings stay, with their process address invalid until MAP_DMA with VADDR; one
      // already invalid undoes the call (EINVAL, nothing changed).
      if (removed.some((m) => c.vaddrInvalid.has(m))) return -EINVAL;
      for (const m of removed) c.vaddrInvalid.add(m);
    } else {
      for (const m of removed) {
        c.mappings.splice(c.mappings.indexOf(m), 1);
        c.vaddrInvalid.delete(m);
      }
    }
    a.view.setBigUint64(16, removed.reduce((n, m) => n + m.size, 0n), true);
    return 0;
  }

  // ---- group ---------------------------------------------------------------------------------

  private groupIoctl(f: GroupFile, req: number, arg: number | Uint8Array | undefined): number {
    const g = f.group;
    switch (req) {
      case GROUP_GET_STATUS: {
        const a = sized(ARG.groupStatus, arg);
        if (typeof a === 'number') return a;
        a.view.setUint32(4, (g.viable ? 1 : 0) | (g.container ? 2 : 0), true);
        return 0;
      }
      case GROUP_SET_CONTAINER: {
        const a = ARG.containerFd.read(arg);
        if (typeof a === 'number') return a;
        const cfd = a.fd;
        // vfio_group_ioctl_set_container: fdget (EBADF) before the group's own state (EINVAL).
        const c = cfd < 0 ? undefined : this.table.get(cfd);
        if (!c) return -EBADF;
        if (g.container) return -EINVAL;
        if (isEventFd(c) || c.kind !== 'container') return -EBADFD;
        if (!g.viable) return -EPERM;
        c.groups.add(g);
        g.container = c;
        return 0;
      }
      case GROUP_UNSET_CONTAINER:
        if (!g.container) return -EINVAL;
        if (g.openDevices > 0) return -EBUSY;
        this.detachGroup(g);
        return 0;
      case GROUP_GET_DEVICE_FD: {
        if (!(arg instanceof Uint8Array)) return -EFAULT;
        const end = arg.indexOf(0);
        if (end < 0) return -EFAULT;
        const name = new TextDecoder().decode(arg.subarray(0, end));
        // vfio_device_get_from_name matches the name before the container is looked at
        // (vfio_pci_core_match): the exact PCI name, then nothing or a space and options. Spaces are
        // skipped; the one option, `vf_token=<uuid>`, is refused with EINVAL on a function that is
        // neither an SR-IOV PF nor a VF (as every model function is), and so is any other option.
        const d = g.devices.find((x) => name === x.address || name.startsWith(`${x.address} `));
        if (!d) return -ENODEV;
        if (!/^ *$/.test(name.slice(d.address.length))) return -EINVAL;
        // vfio_df_group_open → vfio_group_use_container: no container, or no IOMMU set in it.
        if (!g.container || g.container.iommu === undefined) return -EINVAL;
        const fd = this.table.install({ kind: 'device', device: d, via: 'group', bound: undefined, ioas: undefined, released: false });
        if (fd >= 0) {
          this.openDevice(d);
          g.openDevices++;
        }
        return fd;
      }
      default:
        return -ENOTTY;
    }
  }

  // ---- device --------------------------------------------------------------------------------

  private usable(f: DeviceFile): boolean {
    return f.via === 'group' || f.bound !== undefined;
  }

  private deviceIoctl(f: DeviceFile, req: number, arg: number | Uint8Array | undefined): number {
    if (req === DEVICE_BIND_IOMMUFD) return this.bind(f, arg);
    if (!this.usable(f)) return -EINVAL;
    const d = f.device;
    switch (req) {
      case DEVICE_GET_INFO: {
        const a = sized(ARG.deviceInfo, arg);
        if (typeof a === 'number') return a;
        const { argsz, view: v } = a;
        // vfio_pci_ioctl_get_info copies back min(argsz, sizeof(info)) bytes: a shorter buffer faults.
        if (v.byteLength < Math.min(argsz, 24)) return -EFAULT;
        v.setUint32(4, 2 | (d.resetWorks ? 1 : 0), true); // PCI, RESET
        v.setUint32(8, 9, true); // VFIO_PCI_NUM_REGIONS
        v.setUint32(12, 5, true); // VFIO_PCI_NUM_IRQS
        // vfio_pci_ioctl_get_info copies back min(argsz, sizeof(info)) bytes of a zeroed struct: cap_offset, and pad (Linux 6.6), read 0.
        if (argsz >= 20) v.setUint32(16, 0, true);
        if (argsz >= 24) v.setUint32(20, 0, true);
        return 0;
      }
      case DEVICE_GET_REGION_INFO:
        return this.regionInfo(d, arg);
      case DEVICE_GET_IRQ_INFO: {
        const a = ARG.irqInfo.read(arg);
        if (typeof a === 'number') return a;
        const { index, view: v } = a;
        if (a.argsz < ARG.irqInfo.size || index >= 5) return -EINVAL;
        if (index === ERR && !d.pcie) return -EINVAL; // conventional PCI: no AER
        const count = this.irqCount(d, index);
        let flags = 1; // EVENTFD
        if (index === INTX) flags |= 2 | 4; // MASKABLE, AUTOMASKED
        else if (index === MSI || index === REQ || index === ERR || (index === MSIX && !d.dynamicMsix)) flags |= 8; // NORESIZE
        v.setUint32(4, flags, true);
        v.setUint32(12, count, true);
        return 0;
      }
      case DEVICE_SET_IRQS:
        return this.setIrqs(d, arg);
      case DEVICE_RESET:
        if (!d.resetWorks) return -EINVAL;
        if (d.resetBusy) return -EAGAIN;
        this.resetConfigKeepingIrqs(d);
        return 0;
      case DEVICE_ATTACH_IOMMUFD_PT:
        // vfio_device_fops_unl_ioctl answers ATTACH and DETACH only on a cdev; on a group-opened fd
        // they reach vfio_pci_core_ioctl, which knows neither.
        if (f.via !== 'cdev') return -ENOTTY;
        return this.attach(f, arg);
      case DEVICE_DETACH_IOMMUFD_PT: {
        if (f.via !== 'cdev') return -ENOTTY;
        const a = sized(ARG.detachPt, arg);
        if (typeof a === 'number') return a;
        if (a.flags !== 0) return -EINVAL;
        f.ioas?.attached.delete(f);
        f.ioas = undefined;
        return 0;
      }
      default:
        return -ENOTTY;
    }
  }

  /** VFIO_DEVICE_RESET: the function's state is gone; config space (host MSI/MSI-X set-up included) is saved and restored around it; vfio's bindings stay. */
  private resetConfigKeepingIrqs(d: ModelPciDevice): void {
    const saved = d.config.slice();
    const vsaved = d.vconfig.slice();
    d.resets++;
    d.powerOn();
    d.config.set(saved);
    d.vconfig.set(vsaved);
    for (const m of d.barMemory.values()) m.fill(0);
  }

  /** vfio_pci_get_irq_count. */
  private irqCount(d: ModelPciDevice, index: number): number {
    switch (index) {
      case INTX:
        return d.intxPin !== 0 ? 1 : 0;
      case MSI:
        return d.msiVectors;
      case MSIX:
        return d.msixVectors;
      case REQ:
        return 1;
      case ERR:
        return d.pcie ? 1 : 0;
      default:
        return 0;
    }
  }

  private regionInfo(d: ModelPciDevice, arg: number | Uint8Array | undefined): number {
    const a = ARG.regionInfo.read(arg);
    if (typeof a === 'number') return a;
    const { argsz, index, view: v } = a;
    if (argsz < 32) return -EINVAL;
    let size = 0;
    let flags = 0;
    let caps = false;
    if (index <= 5) {
      const bar = d.bar(index);
      size = bar?.size ?? 0;
      if (bar) {
        flags = 1 | 2; // READ, WRITE
        if (bar.kind !== 'io' && bar.size >= 4096) flags |= 4; // MMAP
        if (index === d.msixBar) caps = true; // MSIX_MAPPABLE
      }
    } else if (index === ROM_INDEX) {
      size = 0; // no expansion ROM
      flags = 0;
    } else if (index === CONFIG_INDEX) {
      size = d.configSize;
      flags = 1 | 2;
    } else {
      return -EINVAL; // VGA: not a VGA-class device; beyond: no device-specific regions
    }
    v.setBigUint64(16, BigInt(size), true);
    v.setBigUint64(24, BigInt(index) << OFFSET_SHIFT, true);
    v.setUint32(12, 0, true);
    if (caps) {
      flags |= 8; // CAPS
      const need = 32 + 8;
      if (argsz < need || v.byteLength < need) {
        v.setUint32(0, need, true);
      } else {
        v.setUint32(12, 32, true);
        v.setUint16(32, 3, true); // MSIX_MAPPABLE
        v.setUint16(34, 1, true);
        v.setUint32(36, 0, true);
      }
    }
    v.setUint32(4, flags, true);
    return 0;
  }

  // ---- SET_IRQS (vfio_main.c vfio_set_irqs_validate_and_prepare, vfio_pci_intrs.c) -----------

  private setIrqs(d: ModelPciDevice, arg: number | Uint8Array | undefined): number {
    const a = ARG.irqSet.read(arg);
    if (typeof a === 'number') return a;
    const { argsz, flags, index, start, count, view: v } = a;
    if (argsz < ARG.irqSet.size || index >= 5 || count >= 0xffff_ffff - start || (flags & ~0x3f) !== 0) return -EINVAL;
    const n = this.irqCount(d, index);
    if (start >= n || start + count > n) return -EINVAL;
    let size: number;
    switch (flags & 7) {
      case IRQ_DATA_NONE:
        size = 0;
        break;
      case IRQ_DATA_BOOL:
        size = 1;
        break;
      case IRQ_DATA_EVENTFD:
        size = 4;
        break;
      default:
        return -EINVAL;
    }
    if (size > 0 && argsz - 20 < count * size) return -EINVAL;
    // vfio_pci_ioctl_set_irqs copies the data with memdup_user after the checks: a buffer shorter than argsz says faults.
    if (v.byteLength < 20 + count * size) return -EFAULT;
    const data = new Uint8Array(v.buffer, v.byteOffset + 20, count * size);
    const action = flags & 0x38;
    const dataKind = flags & 7;
    if (index === INTX) {
      if (action === IRQ_ACTION_MASK) return this.intxMaskAction(d, start, count, dataKind, data);
      if (action === IRQ_ACTION_UNMASK) return this.intxUnmaskAction(d, start, count, dataKind, data);
      if (action === IRQ_ACTION_TRIGGER) return this.intxTrigger(d, start, count, dataKind, data);
      return -ENOTTY;
    }
    if (index === MSI || index === MSIX) {
      if (action !== IRQ_ACTION_TRIGGER) return -ENOTTY;
      return this.msiTrigger(d, index === MSIX ? 'msix' : 'msi', start, count, dataKind, data);
    }
    if (action !== IRQ_ACTION_TRIGGER) return -ENOTTY;
    return this.singleTrigger(d, index === ERR ? 'errTrigger' : 'reqTrigger', count, dataKind, data);
  }

  /**
   * ERR and REQ (vfio_pci_set_err_trigger, vfio_pci_set_req_trigger → vfio_pci_set_ctx_trigger_single;
   * the validation above already held start to 0 and count to at most 1): DATA_NONE signals the bound
   * eventfd (count 1) or unbinds it (count 0), and with none bound falls through to EINVAL; DATA_BOOL
   * and DATA_EVENTFD need count 1; fd -1 unbinds, other negative fds change nothing.
   */
  private singleTrigger(d: ModelPciDevice, which: 'errTrigger' | 'reqTrigger', count: number, kind: number, data: Uint8Array): number {
    const bound = d.irq[which];
    if (kind === IRQ_DATA_NONE) {
      if (!bound) return -EINVAL;
      if (count > 0) this.signal(bound);
      else d.irq[which] = undefined;
      return 0;
    }
    if (count === 0) return -EINVAL;
    if (kind === IRQ_DATA_BOOL) {
      if (data[0] !== 0 && bound) this.signal(bound);
      return 0;
    }
    const fd = view(data).getInt32(0, true);
    if (fd === -1) d.irq[which] = undefined;
    else if (fd >= 0) {
      const o = this.table.get(fd);
      if (!o) return -EBADF;
      if (!isEventFd(o)) return -EINVAL;
      d.irq[which] = o;
    }
    return 0;
  }

  private intxMaskAction(d: ModelPciDevice, start: number, count: number, kind: number, data: Uint8Array): number {
    if (d.irq.mode !== 'intx' || start !== 0 || count !== 1) return -EINVAL;
    if (kind === IRQ_DATA_EVENTFD) return -ENOTTY;
    if (kind === IRQ_DATA_NONE || data[0] !== 0) this.intxMask(d);
    return 0;
  }

  private intxUnmaskAction(d: ModelPciDevice, start: number, count: number, kind: number, data: Uint8Array): number {
    if (d.irq.mode !== 'intx' || start !== 0 || count !== 1) return -EINVAL;
    if (kind === IRQ_DATA_EVENTFD) {
      const fd = view(data).getInt32(0, true);
      if (fd < 0) {
        d.irq.unmaskFd = undefined;
        return 0;
      }
      // vfio_virqfd_enable: fdget (EBADF) and eventfd_ctx_fileget (EINVAL) before the one-virqfd check (EBUSY).
      const o = this.table.get(fd);
      if (!o) return -EBADF;
      if (!isEventFd(o)) return -EINVAL;
      if (d.irq.unmaskFd) return -EBUSY;
      d.irq.unmaskFd = o;
      // Already signalled at set-up: vfio_virqfd_enable runs the unmask at once but leaves the
      // counter (only the wakeup of a later signal reads it, virqfd.c).
      if (o.count > 0n) this.intxUnmask(d);
      return 0;
    }
    if (kind === IRQ_DATA_NONE || data[0] !== 0) this.intxUnmask(d);
    return 0;
  }

  private intxTrigger(d: ModelPciDevice, start: number, count: number, kind: number, data: Uint8Array): number {
    if (d.irq.mode === 'intx' && count === 0 && kind === IRQ_DATA_NONE) {
      this.disableIrqs(d);
      return 0;
    }
    if (!(d.irq.mode === 'intx' || d.irq.mode === 'none') || start !== 0 || count !== 1) return -EINVAL;
    if (kind === IRQ_DATA_EVENTFD) {
      const fd = view(data).getInt32(0, true);
      let trigger: ModelEventFd | undefined;
      if (fd >= 0) {
        const o = this.table.get(fd);
        if (!o) return -EBADF;
        if (!isEventFd(o)) return -EINVAL;
        trigger = o;
      }
      if (d.irq.mode === 'none') {
        // vfio_intx_enable: the line starts masked exactly when the guest's INTx Disable is set.
        d.irq.mode = 'intx';
        d.irq.intxMasked = this.intxDisabledByGuest(d);
      }
      if (trigger) d.irq.triggers.set(0, trigger);
      else d.irq.triggers.delete(0);
      // A device already asserting is seen by the new handler.
      if (d.intxAsserted) this.intxInterrupt(d);
      return 0;
    }
    if (d.irq.mode !== 'intx') return -EINVAL;
    // Loopback: DATA_NONE, or DATA_BOOL true, signals the trigger (vfio_send_intx_eventfd).
    if (kind === IRQ_DATA_NONE || data[0] !== 0) this.sendIntx(d);
    return 0;
  }

  private msiTrigger(d: ModelPciDevice, mode: 'msi' | 'msix', start: number, count: number, kind: number, data: Uint8Array): number {
    const irq = d.irq;
    if (irq.mode === mode && count === 0 && kind === IRQ_DATA_NONE) {
      this.disableIrqs(d);
      return 0;
    }
    if (!(irq.mode === mode || irq.mode === 'none')) return -EINVAL;
    if (kind === IRQ_DATA_EVENTFD) {
      const fds = Array.from({ length: count }, (_, i) => view(data).getInt32(i * 4, true));
      if (irq.mode === mode) return this.setBlock(d, mode, start, fds);
      const nvec = start + count;
      // vfio_msi_enable(start + count): no vectors at all is pci_alloc_irq_vectors(pdev, 1, 0)'s
      // ERANGE (__pci_enable_msix_range, __pci_enable_msi_range: max below min), and nothing is enabled.
      if (nvec === 0) return -ERANGE;
      // vfio_msi_enable: fewer host vectors than asked frees them and answers pci_alloc_irq_vectors's
      // result, the count it could get; with none at all that result is an errno, never 0 (the x86
      // vector allocator's -ENOSPC).
      if (nvec > d.hostVectors) return d.hostVectors > 0 ? d.hostVectors : -ENOSPC;
      irq.mode = mode;
      irq.allocated = new Set(Array.from({ length: nvec }, (_, i) => i));
      if (mode === 'msi') irq.msiQmax = Math.ceil(Math.log2(nvec));
      const r = this.setBlock(d, mode, start, fds);
      if (r !== 0) this.disableIrqs(d);
      return r;
    }
    if (irq.mode !== mode) return -EINVAL;
    for (let i = start; i < start + count; i++) {
      const e = irq.triggers.get(i);
      if (e && (kind === IRQ_DATA_NONE || data[i - start] !== 0)) this.signal(e);
    }
    return 0;
  }

  /** vfio_msi_set_block: each vector rebound in turn; an error unbinds every vector the call reached. */
  private setBlock(d: ModelPciDevice, mode: 'msi' | 'msix', start: number, fds: number[]): number {
    let r = 0;
    let j = start;
    for (let i = 0; i < fds.length && r === 0; i++, j++) r = this.setVector(d, mode, j, fds[i]!);
    if (r !== 0) for (let i = start; i < j; i++) this.setVector(d, mode, i, -1);
    return r;
  }

  /** vfio_msi_set_vector_signal: the old binding goes, then `fd` ≥ 0 binds (allocating a dynamic MSI-X vector if needed). */
  private setVector(d: ModelPciDevice, mode: 'msi' | 'msix', vector: number, fd: number): number {
    d.irq.triggers.delete(vector);
    if (fd < 0) return 0;
    if (!d.irq.allocated.has(vector)) {
      if (mode !== 'msix' || !d.dynamicMsix) return -EINVAL;
      if (d.irq.allocated.size >= d.hostVectors) return -EINVAL;
      // vfio_msi_alloc_irq runs before the eventfd is looked up, and the vector stays allocated
      // even when that fails ("will be freed at MSI-X disable").
      d.irq.allocated.add(vector);
    }
    const o = this.table.get(fd);
    if (!o) return -EBADF;
    if (!isEventFd(o)) return -EINVAL;
    d.irq.triggers.set(vector, o);
    return 0;
  }

  // ---- regions (vfio_pci_rdwr.c, vfio_pci_config.c) ------------------------------------------

  private regionAccess(fd: number, buf: Uint8Array, length: number, offset: number, write: boolean): number {
    const f = this.table.get(fd);
    if (!f) return -EBADF;
    if (isEventFd(f) || f.kind !== 'device') return -EINVAL;
    if (!this.usable(f)) return -EINVAL;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > buf.length) return -EFAULT;
    // vfio_pci_core_read / vfio_pci_core_write answer a zero-byte access before looking at the region.
    if (length === 0) return 0;
    const d = f.device;
    const index = Number(BigInt(offset) >> OFFSET_SHIFT);
    const pos = Number(BigInt(offset) & ((1n << OFFSET_SHIFT) - 1n));
    if (index === CONFIG_INDEX) return this.configAccess(d, buf, length, pos, write);
    if (index <= 5) return this.barAccess(d, index, buf, length, pos, write);
    // ROM: the model device has none (size 0, nothing to read) and ROM writes are always EINVAL;
    // VGA: not a VGA-class device; beyond: no device-specific regions.
    return -EINVAL;
  }

  /**
   * vfio_pci_bar_rw: an unimplemented BAR, or a start at or past the end, is EINVAL; an access
   * running past the end is cut there (a short count). vfio_pci_core_do_io_rw tests Memory Space
   * Enable only on a memory BAR (`test_mem` is the resource's IORESOURCE_MEM: an I/O BAR is served
   * with I/O Space off) and only for bytes outside the MSI-X table, whose reads fill 0xFF and whose
   * writes are dropped without touching the device.
   */
  private barAccess(d: ModelPciDevice, index: number, buf: Uint8Array, length: number, pos: number, write: boolean): number {
    const bar = d.bar(index);
    if (!bar || pos >= bar.size) return -EINVAL;
    const count = Math.min(length, bar.size - pos);
    const tableEnd = index === d.msixBar ? d.msixVectors * 16 : 0;
    const cmd = new DataView(d.config.buffer).getUint16(4, true);
    if (bar.kind !== 'io' && (cmd & CMD_MEMORY) === 0 && pos + count > tableEnd) return -EIO;
    const mem = d.barMemory.get(index)!;
    for (let i = 0; i < count; i++) {
      const at = pos + i;
      const inTable = at < tableEnd;
      if (write) {
        if (!inTable) mem[at] = buf[i]!;
      } else {
        buf[i] = inTable ? 0xff : mem[at]!;
      }
    }
    return count;
  }

  /** Config space through vfio: virtualised fields per vfio_pci_config.c; any length, past the end EFAULT. */
  private configAccess(d: ModelPciDevice, buf: Uint8Array, length: number, pos: number, write: boolean): number {
    if (pos + length > d.configSize) return -EFAULT;
    for (let i = 0; i < length; i++) {
      const at = pos + i;
      if (write) this.configWriteByte(d, at, buf[i]!);
      else buf[i] = this.configReadByte(d, at);
    }
    return length;
  }

  private configReadByte(d: ModelPciDevice, at: number): number {
    const c = d.config;
    const vc = d.vconfig;
    if (at >= 0x10 && at < 0x28) {
      // BARs: the virtual value masked to the size, with the type bits.
      const bi = (at - 0x10) >> 2;
      return this.barRegister(d, bi) >>> ((at & 3) * 8) & 0xff;
    }
    if (at >= 0x30 && at < 0x34) return 0; // no ROM
    if (at === 0x3c) return vc[at]!; // Interrupt Line: virtual
    if (at === 0x3d) return d.intxPin; // Interrupt Pin: virtual RO
    if (at === 0x04 || at === 0x05) {
      // Command: the device's bits, INTx Disable from the virtual copy.
      const dev = c[at]!;
      if (at === 0x05) return (dev & ~0x04) | (vc[0x05]! & 0x04);
      return dev;
    }
    if (at === 0x06) return c[at]! | (d.intxAsserted ? STATUS_INTERRUPT : 0);
    if (at >= MSI_CAP + 4 && at < MSI_CAP + 14) return vc[at]!; // MSI Address, Upper Address, Data: virtual
    if (at === MSI_CAP + 2) {
      // Message Control low byte (vfio_msi_config_read): the virtual copy, Multiple Message Capable replaced by msi_qmax.
      return (vc[at]! & ~0x0e) | (d.irq.msiQmax << 1);
    }
    // MSI-X Enable / Function Mask: as the device has them, and the host sets Enable while vfio has MSI-X on.
    if (at === MSIX_CAP + 3) return c[at]! | (d.irq.mode === 'msix' ? 0x80 : 0);
    // Initiate Function Level Reset: virtual, cleared after every write (reads 0, as the spec requires).
    if (d.pcie && at === PCIE_CAP + PCIE_DEVCTL + 1) return c[at]! & ~DEVCTL_FLR_HI;
    if (d.advancedFeatures !== undefined && at === AF_CAP + AF_CTRL) return c[at]! & ~AF_CTRL_FLR;
    return c[at]!;
  }

  private barRegister(d: ModelPciDevice, bi: number): number {
    const vreg = new DataView(d.vconfig.buffer).getUint32(0x10 + bi * 4, true);
    const bar = d.bar(bi);
    if (bar) {
      if (bar.kind === 'io') return ((vreg & ~(bar.size - 1)) | 1) >>> 0;
      return ((vreg & ~(bar.size - 1) & ~0xf) | (bar.kind === 'mem64' ? 0x4 : 0)) >>> 0;
    }
    // The upper half of a 64-bit BAR: fully writable (sizes below 4 GiB).
    const lower = d.bar(bi - 1);
    if (lower?.kind === 'mem64') return vreg >>> 0;
    return 0;
  }

  private configWriteByte(d: ModelPciDevice, at: number, value: number): void {
    const c = d.config;
    const vc = d.vconfig;
    // init_pci_cap_basic_perm: Cache Line Size, Latency Timer and BIST reach the device ("no harm to
    // write"); every other header byte without write permission (IDs, Status, Revision and Class,
    // Header Type, CardBus CIS, Subsystem IDs, the capability pointer, reserved bytes, Interrupt
    // Pin, Min_Gnt, Max_Lat) drops the write.
    if (at === 0x0c || at === 0x0d || at === 0x0f) {
      c[at] = value;
      return;
    }
    if (at < 0x04 || (at >= 0x06 && at < 0x10) || (at >= 0x28 && at < 0x30) || (at >= 0x34 && at < 0x40 && at !== 0x3c)) return;
    if (at === 0x04) {
      c[at] = value; // IO, Memory, Bus Master reach the device
      return;
    }
    if (at === 0x05) {
      // INTx Disable: virtual. vfio_basic_config_write acts on a change only: set masks the line,
      // clear unmasks it (a device still asserting is delivered again).
      const was = vc[at]! & 0x04;
      vc[at] = value & 0x04;
      c[at] = value & ~0x04;
      if (!was && value & 0x04) this.intxMask(d);
      else if (was && !(value & 0x04)) this.intxUnmask(d);
      return;
    }
    if (at >= 0x10 && at < 0x28) {
      vc[at] = value;
      return;
    }
    if (at >= 0x30 && at < 0x34) return; // no ROM
    if (at === 0x3c) {
      vc[at] = value;
      return;
    }
    if (at >= MSI_CAP + 4 && at < MSI_CAP + 14) {
      vc[at] = value;
      return;
    }
    if (at === MSI_CAP + 2) {
      // vfio_msi_config_write: the whole low byte is virtual and writable (init_pci_cap_msi_perm), so
      // even 64-bit Address Capable reads back as written; Enable sticks only when SET_IRQS enabled
      // MSI, MME is clamped to msi_qmax, and the result also goes to the device (whose read-only bits keep).
      let flags = value;
      if (d.irq.mode !== 'msi') flags &= ~1;
      if (((flags >> 4) & 7) > d.irq.msiQmax) flags = (flags & ~0x70) | (d.irq.msiQmax << 4);
      vc[at] = flags;
      c[at] = (c[at]! & 0x8e) | (flags & 0x71);
      return;
    }
    if (at >= MSIX_CAP && at < MSIX_CAP + 12) return; // MSI-X: read-only pass-through
    if (at >= MSI_CAP && at < MSI_CAP + 4) return;
    if (d.pcie && at >= PCIE_CAP && at < PCIE_CAP + PCIE_CAP_SIZE) {
      this.pcieWriteByte(d, at - PCIE_CAP, value);
      return;
    }
    if (d.advancedFeatures !== undefined && at >= AF_CAP && at < AF_CAP + AF_SIZE) {
      // init_pci_cap_af_perm: only AF Control's FLR bit is writable, and it is virtual
      // (vfio_af_config_write): with TP and FLR in AF Capabilities vfio-pci resets the function itself.
      const both = AF_CAP_TP | AF_CAP_FLR;
      if (at === AF_CAP + AF_CTRL && (value & AF_CTRL_FLR) !== 0 && (d.advancedFeatures & both) === both) {
        d.kernelFlrs++;
        this.resetConfigKeepingIrqs(d);
      }
      return;
    }
    c[at] = value; // bytes outside known capabilities pass through raw
  }

  /**
   * A byte of the PCI Express capability (init_pci_cap_exp_perm, vfio_exp_config_write): Device
   * Control is writable except Phantom Functions Enable, Device Control 2 except ARI Forwarding Enable, the rest is
   * read-only. Initiate Function Level Reset (Device Control bit 15) is virtual: written 1 on a
   * function whose Device Capabilities has Function Level Reset Capability, vfio-pci resets the
   * function itself (pci_try_reset_function: config saved and restored, interrupt bindings kept,
   * the device's state gone), and the bit reads 0 again. Max_Payload_Size and
   * Max_Read_Request_Size virtualisation is not modelled (they reach the model device).
   */
  private pcieWriteByte(d: ModelPciDevice, off: number, value: number): void {
    const c = d.config;
    const at = PCIE_CAP + off;
    if (off === PCIE_DEVCTL || off === PCIE_DEVCTL2 + 1) {
      c[at] = value;
      return;
    }
    if (off === PCIE_DEVCTL2) {
      // ARI Forwarding Enable is set at probe time and not writable (init_pci_cap_exp_perm: ~PCI_EXP_DEVCTL2_ARI).
      c[at] = (value & ~DEVCTL2_ARI) | (c[at]! & DEVCTL2_ARI);
      return;
    }
    if (off !== PCIE_DEVCTL + 1) return;
    c[at] = (value & ~(DEVCTL_FLR_HI | DEVCTL_PHANTOM_HI)) | (c[at]! & DEVCTL_PHANTOM_HI);
    if ((value & DEVCTL_FLR_HI) !== 0 && (new DataView(c.buffer).getUint32(PCIE_CAP + PCIE_DEVCAP, true) & DEVCAP_FLR) !== 0) {
      d.kernelFlrs++;
      this.resetConfigKeepingIrqs(d);
    }
  }

  // ---- cdev + iommufd ------------------------------------------------------------------------

  private bind(f: DeviceFile, arg: number | Uint8Array | undefined): number {
    const a = sized(ARG.bindIommufd, arg);
    if (typeof a === 'number') return a;
    // vfio_df_ioctl_bind_iommufd's order: flags or a negative fd (EINVAL), a group-opened device fd
    // (EINVAL), the group node open (vfio_device_block_group: EBUSY), already bound (EINVAL), then
    // the iommufd itself (iommufd_ctx_from_fd: EBADF, EBADFD for another kind of file).
    const ifd = a.iommufd;
    if (a.flags !== 0 || ifd < 0) return -EINVAL;
    if (f.via !== 'cdev') return -EINVAL;
    if (this.groups.get(f.device.group)?.open) return -EBUSY;
    if (f.bound) return -EINVAL;
    const o = this.table.get(ifd);
    if (!o) return -EBADF;
    if (isEventFd(o) || o.kind !== 'iommufd') return -EBADFD;
    f.bound = o;
    o.boundDevices++;
    this.openDevice(f.device);
    a.view.setUint32(12, o.nextId++, true);
    return 0;
  }

  private attach(f: DeviceFile, arg: number | Uint8Array | undefined): number {
    if (f.via !== 'cdev' || !f.bound) return -EINVAL;
    const a = sized(ARG.attachPt, arg);
    if (typeof a === 'number') return a;
    if (a.flags !== 0) return -EINVAL;
    const ioas = f.bound.objects.get(a.ptId);
    if (!ioas) return -ENOENT;
    f.ioas?.attached.delete(f);
    f.ioas = ioas;
    ioas.attached.add(f);
    a.view.setUint32(8, f.bound.nextId++, true); // the hardware page table made for it
    return 0;
  }

  private iommufdIoctl(f: Iommufd, req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case IOMMU_IOAS_ALLOC: {
        const a = iommufdCmd(ARG.ioasAlloc, arg);
        if (typeof a === 'number') return a;
        if (a.flags !== 0) return -EOPNOTSUPP;
        const id = f.nextId++;
        f.objects.set(id, { id, mappings: [], attached: new Set() });
        a.view.setUint32(8, id, true);
        return 0;
      }
      case IOMMU_DESTROY: {
        const a = iommufdCmd(ARG.destroy, arg);
        if (typeof a === 'number') return a;
        const ioas = f.objects.get(a.id);
        if (!ioas) return -ENOENT;
        if (ioas.attached.size > 0) return -EBUSY;
        if (ioas.mappings.length > 0) this.hazards.push(`IOAS ${ioas.id} was destroyed with ${ioas.mappings.length} DMA mapping(s)`);
        f.objects.delete(ioas.id);
        return 0;
      }
      case IOMMU_IOAS_MAP: {
        const a = iommufdCmd(ARG.ioasMap, arg);
        if (typeof a === 'number') return a;
        const { flags, view: v } = a;
        if (flags & ~7 || a.reserved !== 0) return -EOPNOTSUPP;
        const ioas = f.objects.get(a.ioasId);
        if (!ioas) return -ENOENT;
        const vaddr = a.userVa;
        const length = a.length;
        const P = VfioKernelModel.PAGE;
        if (length === 0n || length % P !== 0n || vaddr % P !== 0n) return -EINVAL;
        let iova: bigint;
        if (flags & 1) {
          iova = a.iova;
          if (iova % P !== 0n) return -EINVAL;
        } else {
          iova = ioas.mappings.reduce((top, m) => (m.iova + m.size > top ? m.iova + m.size : top), 0x1_0000_0000n);
        }
        const last = iova + length - 1n;
        if (last > U64_MAX || !VfioKernelModel.IOVA_RANGES.some(([s, e]) => iova >= s && last <= e)) return -EINVAL;
        if (ioas.mappings.some((m) => iova <= m.iova + m.size - 1n && m.iova <= last)) return -EEXIST;
        ioas.mappings.push({ vaddr, iova, size: length });
        v.setBigUint64(32, iova, true);
        return 0;
      }
      case IOMMU_IOAS_UNMAP: {
        const a = iommufdCmd(ARG.ioasUnmap, arg);
        if (typeof a === 'number') return a;
        const { iova, length, view: v } = a;
        const ioas = f.objects.get(a.ioasId);
        if (!ioas) return -ENOENT;
        let removed: ModelDmaMapping[];
        if (iova === 0n && length === U64_MAX) {
          removed = ioas.mappings.splice(0);
        } else {
          if (length === 0n) return -EINVAL;
          const last = iova + length - 1n;
          for (const m of ioas.mappings) {
            const mLast = m.iova + m.size - 1n;
            if (m.iova <= last && iova <= mLast && (m.iova < iova || mLast > last)) return -ENOENT; // would cut a mapping
          }
          removed = ioas.mappings.filter((m) => m.iova >= iova && m.iova + m.size - 1n <= last);
          if (removed.length === 0) return -ENOENT;
          for (const m of removed) ioas.mappings.splice(ioas.mappings.indexOf(m), 1);
        }
        v.setBigUint64(16, removed.reduce((n, m) => n + m.size, 0n), true);
        return 0;
      }
      default: {
        const v = ioctlStruct(arg, 8);
        return typeof v === 'number' ? v : -ENOTTY;
      }
    }
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A VFIO struct of {@link ARG}, whose size is the kernel's `minsz`: copy_from_user of `minsz`
 * bytes first (-EFAULT as {@link ioctlStruct} says), then -EINVAL when `argsz` is below `minsz`
 * (vfio_main.c, vfio_iommu_type1.c and vfio_pci_core.c: `if (info.argsz < minsz) return -EINVAL`).
 */
function sized<T extends Record<string, ModelField>>(s: ModelStruct<T>, arg: number | Uint8Array | undefined): ModelStructArg<T> | number {
  const a = s.read(arg);
  if (typeof a === 'number' || a.view.getUint32(0, true) >= s.size) return a;
  return -EINVAL;
}

/**
 * An iommufd command struct of {@link ARG}, whose size is both the op's `min_size` and its
 * `sizeof` (true of DESTROY, IOAS_ALLOC, IOAS_MAP and IOAS_UNMAP), read in iommufd_fops_ioctl's
 * order: get_user of the u32 `size` (-EFAULT under 4 bytes), `size < min_size` (-EINVAL), then
 * copy_struct_from_user of `size` bytes: the bytes past the struct must be zero (-E2BIG) and all
 * `size` bytes readable (-EFAULT).
 */
function iommufdCmd<T extends Record<string, ModelField>>(s: ModelStruct<T>, arg: number | Uint8Array | undefined): ModelStructArg<T> | number {
  const head = ioctlStruct(arg, 4);
  if (typeof head === 'number') return head;
  const size = head.getUint32(0, true);
  if (size < s.size) return -EINVAL;
  const bytes = arg as Uint8Array;
  for (let i = s.size; i < Math.min(size, bytes.byteLength); i++) if (bytes[i] !== 0) return -E2BIG;
  if (bytes.byteLength < size) return -EFAULT;
  return s.read(arg);
}

/** INVALID_ARGUMENT unless `request` is an ioctl definition: a name and a numeric request. */
export function checkIoctlDef(op: string, request: unknown): void {
  const r = request as { request?: unknown; name?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.request !== 'number' || typeof r.name !== 'string') {
    throw invalidArgument(op, `request must be an ioctl definition { name, request } (vfioAbi's, or IoctlDef of @tsvmm/linux-sys), got ${describeValue(request)}`);
  }
}

/** A device spec checked field by field (INVALID_ARGUMENT naming `name.field`), with its defaults left undefined. */
function checkDeviceSpec(op: string, name: string, d: unknown): ModelDeviceSpec {
  const s = checkOptions<ModelDeviceSpec>(op, name, d, ['address', 'group', 'msixVectors', 'msiVectors', 'intxPin', 'dynamicMsix', 'hostVectors', 'resetWorks', 'pcie', 'advancedFeatures']);
  if (typeof s.address !== 'string' || !/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(s.address)) {
    throw invalidArgument(op, `${name}.address must be a PCI name dddd:bb:dd.f in lower case, got ${describeValue(s.address)}`);
  }
  const spec: ModelDeviceSpec = {
    address: s.address,
    group: checkInteger(op, `${name}.group`, s.group, 0, 1 << 30),
    msixVectors: s.msixVectors === undefined ? undefined : checkInteger(op, `${name}.msixVectors`, s.msixVectors, 1, 2048),
    msiVectors: s.msiVectors === undefined ? undefined : checkInteger(op, `${name}.msiVectors`, s.msiVectors, 1, 32),
    intxPin: s.intxPin === undefined ? undefined : checkInteger(op, `${name}.intxPin`, s.intxPin, 0, 4),
    dynamicMsix: s.dynamicMsix === undefined ? undefined : s.dynamicMsix === true,
    hostVectors: s.hostVectors === undefined ? undefined : checkInteger(op, `${name}.hostVectors`, s.hostVectors, 0, 1 << 20),
    resetWorks: s.resetWorks === undefined ? undefined : s.resetWorks === true,
    pcie: checkPcieSpec(op, `${name}.pcie`, s.pcie),
    advancedFeatures: checkAdvancedFeaturesSpec(op, `${name}.advancedFeatures`, s.advancedFeatures),
  };
  if (spec.msiVectors !== undefined && (spec.msiVectors & (spec.msiVectors - 1)) !== 0) {
    throw invalidArgument(op, `${name}.msiVectors must be 1, 2, 4, 8, 16 or 32, got ${spec.msiVectors}`);
  }
  return spec;
}

/** The `pcie` option of a model device: false, undefined, or `{ flr?: boolean }`. */
function checkPcieSpec(op: string, name: string, value: unknown): ModelDeviceSpec['pcie'] {
  if (value === undefined || value === false) return value;
  const o = checkOptions<ModelPcieSpec>(op, name, value, ['flr']);
  if (o.flr !== undefined && typeof o.flr !== 'boolean') throw invalidArgument(op, `${name}.flr must be a boolean, got ${describeValue(o.flr)}`);
  return { flr: o.flr ?? true };
}

/** The `advancedFeatures` option of a model device: false, undefined, or `{ flr?: boolean, tp?: boolean }`. */
function checkAdvancedFeaturesSpec(op: string, name: string, value: unknown): ModelDeviceSpec['advancedFeatures'] {
  if (value === undefined || value === false) return value;
  const o = checkOptions<ModelAdvancedFeaturesSpec>(op, name, value, ['flr', 'tp']);
  for (const k of ['flr', 'tp'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') throw invalidArgument(op, `${name}.${k} must be a boolean, got ${describeValue(o[k])}`);
  return { flr: o.flr ?? true, tp: o.tp ?? true };
}
