/**
 * A PCI function opened through VFIO, as a VMM plugs it into its bus: config space proxied to the
 * device with the registers a VMM must own virtualised, BAR accesses split between the MSI-X
 * emulator and the device, MSI-X and MSI delivered by irqfd, guest RAM mapped for DMA.
 */
import { type Disposable, type Event, IOAPIC_PINS, type IrqFd, type IrqFdRoute, type LevelIrqFdRoute, VirtError } from '@tsvmm/virt';
import { checkConstructToken, checkInteger, checkOptions, describeValue, invalidArgument } from '@tsvmm/virt/implement';
import {
  type IrqFdMsixRoutes,
  MSIX_CAPABILITY_SIZE,
  MsiEmulator,
  type MsiState,
  MsixEmulator,
  type MsixState,
  createIrqFdMsiRoutes,
  createIrqFdMsixRoutes,
} from '@tsvmm/pci-core';
import { EventFd, failure } from '@tsvmm/linux-sys';
import * as abi from '../abi';
import * as calls from '../calls';
import { VfioDevice } from '../device';
import { claimDevice, isClaimed, releaseClaim } from '../ownership';
import { type AssignedBar, VirtualBars, barFromRegion } from './bars';
import { DmaMappings, type GuestRamMapping, checkGuestRam } from './dma';
import { IntxBinding, type IntxDelivery } from './intx-binding';
import { VfioIrqIndex } from './irq-index';
import { MsiBinding } from './msi-binding';
import { MsixBinding } from './msix-binding';

/** How {@link AssignedPciDevice.create} builds an assigned device. */
export interface AssignedPciDeviceOptions {
  /**
   * The open device ({@link VfioDevice.open}); it stays the caller's. One AssignedPciDevice owns
   * its interrupts and DMA at a time (its interrupts in vfio are one configuration); the claim ends
   * with {@link AssignedPciDevice.dispose}, which {@link VfioDevice.dispose} runs first when the
   * device is disposed while still assigned.
   */
  readonly device: VfioDevice;
  /** The partition's irqfd (`partition.irqfd()`): one route per MSI-X and per MSI vector is made on it. */
  readonly irqfd: IrqFd;
  /** Guest RAM the device may DMA to, mapped at creation and unmapped on dispose. Default none. */
  readonly dma?: readonly GuestRamMapping[];
  /**
   * Called with every failure on a guest-driven path (a refused SET_IRQS, a failed pread/pwrite,
   * a route failure): the guest's access completes with a defined result and nothing is thrown.
   */
  readonly onError?: (error: Error, operation: string) => void;
  /**
   * How the function's INTx reaches the guest; used when the device has an Interrupt Pin and vfio
   * reports one INTx interrupt (VFIO_DEVICE_GET_IRQ_INFO). Default `false`: INTx is not delivered.
   */
  readonly intx?: AssignedIntxOptions | false;
}

/**
 * INTx through a level-triggered irqfd with resample: the hypervisor holds the GSI asserted until
 * the guest's EOI and vfio unmasks on the resample event, with no user space on the path. The
 * route is made with `newLevelRoute(irqfd, gsi)` of `@tsvmm/virt` on the device's `irqfd`, each
 * time INTx is enabled. A partition without level routes (`partition.capabilities.resample`
 * false; KVM: no full in-kernel irqchip or no KVM_CAP_IRQFD_RESAMPLE) makes that throw
 * UNSUPPORTED with the reason, and {@link AssignedPciDevice.create} rethrows it with nothing left
 * behind: use {@link AssignedIntxUserSpaceOptions} there.
 */
export interface AssignedIntxIrqFdOptions {
  /** Always `'irqfd'`. */
  readonly mode: 'irqfd';
  /** The IOAPIC pin's GSI the function's pin is routed to (0-23), as the guest's firmware tables route it. */
  readonly gsi: number;
}

/**
 * INTx through user space, for a VMM with its own interrupt controller (KVM split irqchip, or a
 * backend without resample): vfio signals {@link AssignedPciDevice.intxTrigger}; the VMM watches
 * its fd and calls {@link AssignedPciDevice.pollIntx}, receives the line through `onLevel`, and
 * calls {@link AssignedPciDevice.intxEoi} on the guest's EOI of the line's vector.
 */
export interface AssignedIntxUserSpaceOptions {
  /** Always `'user-space'`. */
  readonly mode: 'user-space';
  /** Called with the line's new level at each change (drive your interrupt controller's input with it). Must not throw. */
  readonly onLevel?: (level: boolean) => void;
}

/** How INTx reaches the guest: {@link AssignedIntxIrqFdOptions} or {@link AssignedIntxUserSpaceOptions}. */
export type AssignedIntxOptions = AssignedIntxIrqFdOptions | AssignedIntxUserSpaceOptions;

/**
 * What {@link AssignedPciDevice.save} returns: the VMM-owned state of the function, plain JSON-able
 * data. The device's own state (its registers, queues, memory) is the kernel's and is not in it.
 */
export interface AssignedPciDeviceState {
  /**
   * Format version, 2. {@link AssignedPciDevice.restore} also reads version 1 (the same fields
   * without `msixLive`).
   */
  readonly version: 2;
  /** The six BAR registers as the guest wrote them. */
  readonly bars: readonly number[];
  /** The ROM BAR register as the guest wrote it. */
  readonly rom: number;
  /** Command (config 0x04) as the guest reads it: written back to the device on restore. */
  readonly command: number;
  /** The MSI-X capability, table and pending bits; undefined when the function has no MSI-X. */
  readonly msix: MsixState | undefined;
  /**
   * The MSI-X vectors live at save, ascending: bound to their route's event in vfio because the
   * guest let them deliver since MSI-X was enabled, masked or not now. Restore binds them again, so
   * a raise on a vector masked at save reaches its route (and the PBA) on any device the snapshot
   * is restored onto. Empty without MSI-X or while it is disabled.
   */
  readonly msixLive: readonly number[];
  /** The MSI capability and pending bits; undefined when the function has no MSI. */
  readonly msi: MsiState | undefined;
  /** Interrupt Line (config 0x3C) as the guest wrote it. */
  readonly interruptLine: number;
  /**
   * An INTx interrupt raised and not yet EOI'd by the guest, on the user-space path. Always false
   * on the irqfd path: the latch is in the partition's interrupt controller, saved with it, and a
   * device still asserting is delivered again by the unmask done when INTx is enabled on restore.
   */
  readonly intxPending: boolean;
}

const CMD = 0x04;
const INTERRUPT_LINE = 0x3c;
const INTERRUPT_PIN = 0x3d;
const CMD_INTX_DISABLE_HI = 0x04; // bit 10 of Command, in its high byte
const CAP_POINTER = 0x34;
const CAP_ID_MSI = 0x05;
const CAP_ID_MSIX = 0x11;
const CAP_ID_EXP = 0x10; // PCI Express (pci_regs.h PCI_CAP_ID_EXP)
const EXP_DEVCAP = 0x04; // Device Capabilities (PCI_EXP_DEVCAP)
const EXP_DEVCTL = 0x08; // Device Control (PCI_EXP_DEVCTL)
const DEVCAP_FLR = 0x1000_0000; // Function Level Reset Capability, bit 28 (PCI_EXP_DEVCAP_FLR)
const DEVCTL_FLR_HI = 0x80; // Initiate Function Level Reset, bit 15 (PCI_EXP_DEVCTL_BCR_FLR), in the high byte
const CAP_ID_AF = 0x13; // Advanced Features (PCI_CAP_ID_AF), 6 bytes (PCI_CAP_AF_SIZEOF)
const AF_CAP = 0x03; // AF Capabilities (PCI_AF_CAP): bit 0 TP, bit 1 FLR
const AF_CAP_TP_FLR = 0x03; // PCI_AF_CAP_TP | PCI_AF_CAP_FLR: vfio_af_config_write resets only with both
const AF_CTRL = 0x04; // AF Control (PCI_AF_CTRL): bit 0 Initiate FLR (PCI_AF_CTRL_FLR)
const AF_CTRL_FLR = 0x01;
const AF_SIZE = 6;
/** The fields of a version-1 snapshot; version 2 adds `msixLive`. */
const SNAPSHOT_V1_FIELDS: readonly (keyof AssignedPciDeviceState)[] = ['version', 'bars', 'rom', 'command', 'msix', 'msi', 'interruptLine', 'intxPending'];
const ALL_ONES = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

/** Held by {@link AssignedPciDevice.create} alone: the constructor is internal (it takes what create read and checked). */
const CONSTRUCT = Symbol('AssignedPciDevice.create');

/** Config bytes kept here rather than in the device: BAR and ROM registers, Interrupt Line, the parts of a capability an emulator owns. */
type VirtualKind = 'bar' | 'rom' | 'line' | 'msix' | 'msi';

/**
 * A VFIO device assigned to a guest. Its config-space and BAR methods are the guest's path: they
 * accept any offset and size, never throw, and report failures through `onError`.
 *
 * Virtualised in config space (everything else goes to the device through vfio-pci, which
 * virtualises some more, docs/interfaces/vfio.md, "Regions"):
 * - BARs (0x10-0x27) and the ROM BAR (0x30): the guest's values, read back masked to the size with
 *   the type bits (so all-ones writes size them); the device keeps its host addresses.
 * - Command's INTx Disable (bit 10): kept here and also forwarded (vfio-pci masks INTx for it).
 * - Interrupt Line (0x3C): kept here (firmware's scratch register; the device never uses it).
 *   Interrupt Pin (0x3D) and Status's Interrupt Status (bit 3) are read from the device through vfio.
 * - The MSI-X capability ({@link MsixEmulator}) and the MSI capability ({@link MsiEmulator}):
 *   the guest never reaches the device's; vfio-pci programs the device's own.
 * - Initiate Function Level Reset, in PCI Express Device Control (bit 15) and in the Advanced
 *   Features capability's AF Control (bit 0) of a conventional function: always reads 0; a write
 *   of 1 is a guest-initiated function reset ({@link AssignedPciDevice.functionLevelReset}); the
 *   other bits of those registers reach the device.
 *
 * MSI-X and MSI are delivered by irqfd: each vector's route event is the eventfd vfio-pci signals.
 * INTx (option `intx`) through a level irqfd with resample, or through user space; it is disabled
 * in vfio while the guest has MSI or MSI-X enabled (vfio-pci runs one mode at a time).
 */
export class AssignedPciDevice implements Disposable {
  /** The MSI-X emulator (table and PBA in BARs, capability in config), or undefined without MSI-X. */
  readonly msix: MsixEmulator | undefined;
  /** The MSI emulator, or undefined without MSI. */
  readonly msi: MsiEmulator | undefined;
  /** Config-space offset of the MSI-X capability, or undefined. */
  readonly msixCapability: number | undefined;
  /** Config-space offset of the MSI capability, or undefined. */
  readonly msiCapability: number | undefined;
  /** The BARs by number: undefined for an unimplemented BAR or the upper half of a 64-bit one. */
  readonly bars: readonly (AssignedBar | undefined)[];
  /** Bytes of config space (256 for PCI, 4096 for PCI Express). */
  readonly configSize: number;
  /** The irqfd routes of the MSI-X vectors (`routes[v].event.fd` is what vfio signals), or empty. */
  readonly msixRoutes: readonly IrqFdRoute[];
  /** The irqfd routes of the MSI vectors, or empty. */
  readonly msiRoutes: readonly IrqFdRoute[];
  /** Interrupt Pin as vfio reports it (0 none, 1-4 INTA-INTD; vfio answers 0 where INTx is unusable). */
  readonly intxPin: number;
  /** How INTx is delivered: `'irqfd'`, `'user-space'`, or `'none'` (not asked for, or the device has no INTx). */
  readonly intxMode: 'irqfd' | 'user-space' | 'none';
  /** Config-space offset of the PCI Express capability (ID 10h), or undefined on a conventional PCI function. */
  readonly pcieCapability: number | undefined;
  /**
   * Config-space offset of the Advanced Features capability (ID 13h, 6 bytes: AF Capabilities at +3,
   * AF Control at +4; PCI Advanced Features ECN, pci_regs.h `PCI_AF_*`), which gives a
   * conventional PCI function a Function Level Reset; undefined when the function has none.
   */
  readonly advancedFeaturesCapability: number | undefined;
  /**
   * Whether a guest write of 1 to an Initiate Function Level Reset bit resets the function. Two
   * registers carry one: PCI Express Device Control (capability + 8, bit 15), meaningful when Device
   * Capabilities (+4) bit 28 advertises Function Level Reset Capability (PCIe Base Specification,
   * "Device Capabilities Register", "Device Control Register"); and AF Control (Advanced Features
   * capability + 4, bit 0), meaningful when AF Capabilities (+3) has both TP (bit 0) and FLR (bit 1),
   * the condition vfio-pci's own handler tests (`vfio_af_config_write`). vfio must also have a reset
   * for the device (VFIO_DEVICE_FLAGS_RESET, docs/interfaces/vfio.md, "Reset"). True when at least one register is
   * meaningful; each register resets only on its own capability's condition (a function with both
   * capabilities may advertise FLR in one only). A bit that is not meaningful is still virtualised
   * (it reads 0) and a write of 1 to it is ignored.
   */
  readonly functionLevelReset: boolean;

  private readonly virtualBars: VirtualBars;
  /**
   * The bytes holding an Initiate Function Level Reset bit: Device Control's high byte (bit 7) and
   * AF Control (bit 0), where the capability is there, and whether a write of 1 to that bit resets
   * (its own capability advertises FLR and vfio has a reset). The bit is never forwarded: vfio-pci
   * would reset the function itself (vfio_exp_config_write, vfio_af_config_write; docs/interfaces/vfio.md, "Regions") under
   * emulators that still hold the pre-reset interrupt state.
   */
  private readonly flrBits: readonly { readonly at: number; readonly bit: number; readonly resets: boolean }[];
  private intxDisable = false;
  private interruptLine: number;
  private readonly initialInterruptLine: number;
  private readonly intx: IntxBinding | undefined;
  private readonly msixBinding: MsixBinding | undefined;
  private readonly msiBinding: MsiBinding | undefined;
  private readonly msixIndex: VfioIrqIndex;
  private readonly msiIndex: VfioIrqIndex;
  private disposed = false;
  /** Set at the end of {@link dispose}: nothing more reaches `onError`. */
  private silenced = false;
  /** VFIO_DEVICE_GET_IRQ_INFO's count for the MSI-X index (0 without MSI-X): the host vectors vfio can enable. */
  private readonly msixIrqCount: number;
  /** VFIO_DEVICE_GET_IRQ_INFO's count for the MSI index (0 without MSI). */
  private readonly msiIrqCount: number;
  /** Inside restore(): failures of the kernel calls, thrown at its end instead of reported. */
  private captured: VirtError[] | undefined;
  /** Inside restore(): INTx comes back once, at its end, not from the emulators' transitions. */
  private restoring = false;
  private errors = 0;
  private lastErr: Error | undefined;

  private constructor(
    token: symbol,
    private readonly device: VfioDevice,
    private readonly configOffset: number,
    init: {
      configSize: number;
      bars: (AssignedBar | undefined)[];
      romSize: number;
      msixCap: number | undefined;
      msiCap: number | undefined;
      msixLayout: ConstructorParameters<typeof MsixEmulator>[0] | undefined;
      msiLayout: { vectors: number; address64: boolean; perVectorMasking: boolean; nextPointer: number } | undefined;
      dynamicMsix: boolean;
      irqfd: IrqFd;
      intxPin: number;
      interruptLine: number;
      intx: AssignedIntxOptions | undefined;
      pcieCap: number | undefined;
      afCap: number | undefined;
      /** Device Capabilities advertises FLR (PCI Express), AF Capabilities has TP and FLR (Advanced Features). */
      flrCapable: { pcie: boolean; af: boolean };
      msixIrqCount: number;
      msiIrqCount: number;
    },
    private readonly dma: DmaMappings,
    private readonly onError: ((error: Error, operation: string) => void) | undefined,
    private readonly ownedRoutes: IrqFdMsixRoutes[],
  ) {
    checkConstructToken(token, CONSTRUCT, 'AssignedPciDevice', 'AssignedPciDevice.create()');
    this.configSize = init.configSize;
    this.bars = Object.freeze(init.bars);
    this.virtualBars = new VirtualBars(init.bars, init.romSize);
    this.msixCapability = init.msixCap;
    this.msiCapability = init.msiCap;
    this.pcieCapability = init.pcieCap;
    this.advancedFeaturesCapability = init.afCap;
    const hasReset = (device.info.flags & abi.VFIO_DEVICE_FLAGS_RESET) !== 0;
    const flrBits: { at: number; bit: number; resets: boolean }[] = [];
    if (init.pcieCap !== undefined) flrBits.push({ at: init.pcieCap + EXP_DEVCTL + 1, bit: DEVCTL_FLR_HI, resets: hasReset && init.flrCapable.pcie });
    if (init.afCap !== undefined) flrBits.push({ at: init.afCap + AF_CTRL, bit: AF_CTRL_FLR, resets: hasReset && init.flrCapable.af });
    this.flrBits = flrBits;
    this.functionLevelReset = flrBits.some((f) => f.resets);
    this.msixIrqCount = init.msixIrqCount;
    this.msiIrqCount = init.msiIrqCount;
    this.msixIndex = new VfioIrqIndex(device.sys, device.deviceFd, abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX, 'MSI-X');
    this.msiIndex = new VfioIrqIndex(device.sys, device.deviceFd, abi.VFIO_PCI_IRQ.VFIO_PCI_MSI_IRQ_INDEX, 'MSI');
    const report = (e: Error, op: string): void => this.report(e, op);
    this.intxPin = init.intxPin;
    this.interruptLine = this.initialInterruptLine = init.interruptLine;
    this.intxMode = init.intx?.mode ?? 'none';
    // A route refusing the guest's message (INVALID_MSI: no errno, no HRESULT) is the guest's doing,
    // reported as on any guest path even inside restore(); only the kernel's refusals are thrown there.
    const routeError = (e: Error, _v: number, op: string): void => this.report(e, op, !isKernelRefusal(e));
    let msixRoutes: IrqFdMsixRoutes | undefined;
    let msiRoutes: IrqFdMsixRoutes | undefined;
    if (init.msixLayout) {
      msixRoutes = createIrqFdMsixRoutes(init.irqfd, init.msixLayout.vectors);
      ownedRoutes.push(msixRoutes);
      this.msix = new MsixEmulator({ ...init.msixLayout, onError: routeError });
      this.msixBinding = new MsixBinding(this.msix, msixRoutes.irqfdRoutes, this.msixIndex, init.dynamicMsix, report);
      this.msix.setRoutes(msixRoutes.routes, { batch: msixRoutes.batch });
    }
    if (init.msiLayout) {
      msiRoutes = createIrqFdMsiRoutes(init.irqfd, init.msiLayout.vectors);
      ownedRoutes.push(msiRoutes);
      const binding = new MsiBinding(msiRoutes.irqfdRoutes, this.msiIndex, report);
      this.msiBinding = binding;
      this.msi = new MsiEmulator({
        ...init.msiLayout,
        onError: routeError,
        onControl: (enabled, vectors) => {
          // One mode at a time in vfio-pci: INTx goes before MSI is enabled, and comes back after it is off.
          if (enabled) this.intx?.disable('MSI Message Control write');
          binding.control(enabled, vectors);
          if (!enabled) this.resumeIntx('MSI Message Control write');
        },
      });
      this.msi.setRoutes(msiRoutes.routes, { batch: msiRoutes.batch });
    }
    this.msixRoutes = msixRoutes?.irqfdRoutes ?? [];
    this.msiRoutes = msiRoutes?.irqfdRoutes ?? [];
    const x = init.intx;
    let delivery: IntxDelivery | undefined;
    if (x?.mode === 'irqfd') delivery = { kind: 'irqfd', gsi: x.gsi, irqfd: init.irqfd };
    // The user-space trigger is this device's own eventfd, on the device's system calls.
    else if (x?.mode === 'user-space') delivery = { kind: 'user-space', trigger: new EventFd(device.sys, 'AssignedPciDevice.create'), onLevel: x.onLevel };
    this.intx = delivery ? new IntxBinding(device.sys, device.deviceFd, delivery, report) : undefined;
  }

  /**
   * Assigns `options.device`: reads its regions, interrupts and capabilities through vfio, makes
   * one irqfd route per MSI-X and MSI vector, and maps `options.dma` for DMA. Arguments are checked
   * before anything is done; on a failure everything made so far is undone.
   *
   * With `intx` and a device that has INTx, INTx is enabled in vfio before this returns.
   *
   * @throws VirtError INVALID_ARGUMENT for bad options (an unknown option, a disposed device, an
   *   irqfd without routes, a DMA range that is unaligned, empty or overlapping, a malformed
   *   `intx`); EXHAUSTED when the irqfd has too few routes; SYSCALL (or PERMISSION) when a vfio
   *   query, a DMA map or an INTx SET_IRQS fails; whatever `newLevelRoute(irqfd, intx.gsi)` of
   *   `@tsvmm/virt` throws (UNSUPPORTED, with the reason, where the partition has no level routes;
   *   BUSY for a GSI that already has one; DISPOSED after the partition was disposed); BUSY, with
   *   nothing done, when another AssignedPciDevice owns `options.device` (one owner at a time: a
   *   second would rebind and, on its dispose, disable the first's interrupts in vfio).
   */
  static create(options: AssignedPciDeviceOptions): AssignedPciDevice {
    const op = 'AssignedPciDevice.create';
    const o = checkOptions<AssignedPciDeviceOptions>(op, 'options', options, ['device', 'irqfd', 'dma', 'onError', 'intx']);
    const device: unknown = o.device;
    const irqfd: unknown = o.irqfd;
    if (!(device instanceof VfioDevice)) throw invalidArgument(op, `device must be a VfioDevice (VfioDevice.open), got ${describeValue(device)}`);
    if (device.isDisposed) throw invalidArgument(op, 'device is disposed');
    // vfio-pci has one interrupt configuration per device fd: a second owner's SET_IRQS (or its
    // dispose, which disables every index) would undo the first's bindings behind its back.
    if (isClaimed(device)) {
      throw new VirtError('BUSY', {
        operation: op,
        detail: `${device.address} is already assigned: an AssignedPciDevice owns this VfioDevice's interrupts`,
        hint: 'Use the existing AssignedPciDevice, or dispose it first; nothing was changed.',
      });
    }
    if (typeof irqfd !== 'object' || irqfd === null || typeof (irqfd as IrqFd).newIrqFdRoute !== 'function' || typeof (irqfd as IrqFd).batch !== 'function') {
      throw invalidArgument(op, `irqfd must be a partition's IrqFd (partition.irqfd()), got ${describeValue(irqfd)}`, 'Use a backend with irqfd; nothing was changed.');
    }
    if (o.onError !== undefined && typeof o.onError !== 'function') throw invalidArgument(op, 'onError must be a function (error, operation) => void');
    const intxOption = checkIntxOption(op, o.intx);
    const ram = checkGuestRam(op, o.dma);
    const sys = device.sys;
    const fd = device.deviceFd;
    const region = (index: number): calls.RegionInfo => {
      const r = calls.deviceGetRegionInfo(sys, fd, index);
      if (typeof r === 'number') throw failure(r, op, `ioctl(VFIO_DEVICE_GET_REGION_INFO, ${index})`);
      return r;
    };
    const irqInfo = (index: number): calls.IrqInfo => {
      const r = calls.deviceGetIrqInfo(sys, fd, index);
      if (typeof r === 'number') throw failure(r, op, `ioctl(VFIO_DEVICE_GET_IRQ_INFO, ${index})`);
      return r;
    };
    const cfg = region(abi.VFIO_PCI_REGION.VFIO_PCI_CONFIG_REGION_INDEX);
    const header = new Uint8Array(Math.min(cfg.size, 256));
    const got = calls.regionRead(sys, fd, cfg.offset, 0, header);
    if (got < 0) throw failure(got, op, 'pread(config space)');
    const hv = new DataView(header.buffer);
    // Capabilities: the list from 0x34, each pointer DWORD-aligned past the header; a loop guard
    // against a device whose list cycles.
    let msixCap: number | undefined;
    let msiCap: number | undefined;
    let pcieCap: number | undefined;
    let afCap: number | undefined;
    let at = header[CAP_POINTER]! & 0xfc;
    for (let hops = 0; at >= 0x40 && at + 1 < header.length && hops < 48; hops++) {
      if (header[at] === CAP_ID_MSIX && msixCap === undefined) msixCap = at;
      if (header[at] === CAP_ID_MSI && msiCap === undefined) msiCap = at;
      if (header[at] === CAP_ID_EXP && pcieCap === undefined) pcieCap = at;
      if (header[at] === CAP_ID_AF && afCap === undefined) afCap = at;
      at = header[at + 1]! & 0xfc;
    }
    // Device Control must lie inside the header read (the capability starts at 0xFC at most).
    if (pcieCap !== undefined && pcieCap + EXP_DEVCTL + 2 > header.length) pcieCap = undefined;
    if (afCap !== undefined && afCap + AF_SIZE > header.length) afCap = undefined;
    const flrCapable = {
      pcie: pcieCap !== undefined && (hv.getUint32(pcieCap + EXP_DEVCAP, true) & DEVCAP_FLR) !== 0,
      af: afCap !== undefined && (header[afCap + AF_CAP]! & AF_CAP_TP_FLR) === AF_CAP_TP_FLR,
    };
    let msixLayout: ConstructorParameters<typeof MsixEmulator>[0] | undefined;
    let dynamicMsix = false;
    let msixIrqCount = 0;
    let msiIrqCount = 0;
    if (msixCap !== undefined && msixCap + MSIX_CAPABILITY_SIZE <= header.length) {
      const table = hv.getUint32(msixCap + 4, true);
      const pba = hv.getUint32(msixCap + 8, true);
      const info = irqInfo(abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX);
      dynamicMsix = (info.flags & abi.VFIO_IRQ_INFO_NORESIZE) === 0;
      msixIrqCount = info.count;
      msixLayout = {
        vectors: (hv.getUint16(msixCap + 2, true) & 0x7ff) + 1,
        table: { bir: table & 7, offset: table & ~7 },
        pba: { bir: pba & 7, offset: pba & ~7 },
        nextPointer: header[msixCap + 1]!,
      };
    }
    let msiLayout: { vectors: number; address64: boolean; perVectorMasking: boolean; nextPointer: number } | undefined;
    if (msiCap !== undefined) {
      // Multiple Message Capable reads what vfio last enabled; IRQ_INFO has the device's count (docs/interfaces/vfio.md, "Regions").
      const info = irqInfo(abi.VFIO_PCI_IRQ.VFIO_PCI_MSI_IRQ_INDEX);
      const control = hv.getUint16(msiCap + 2, true);
      msiIrqCount = info.count;
      if (info.count > 0) msiLayout = { vectors: Math.min(32, info.count), address64: (control & 0x80) !== 0, perVectorMasking: (control & 0x100) !== 0, nextPointer: header[msiCap + 1]! };
      else msiCap = undefined;
    }
    const rawBars: (calls.RegionInfo | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const r = region(i);
      rawBars.push(r.size > 0 ? r : undefined);
    }
    const bars: (AssignedBar | undefined)[] = rawBars.map((r, i) => {
      if (!r) return undefined;
      const layoutForCarve = msixLayout
        ? { tableBir: msixLayout.table.bir, tableOffset: msixLayout.table.offset, tableSize: msixLayout.vectors * 16, pbaBir: msixLayout.pba.bir, pbaOffset: msixLayout.pba.offset, pbaSize: Math.ceil(msixLayout.vectors / 64) * 8 }
        : undefined;
      return barFromRegion(r, hv.getUint32(0x10 + i * 4, true) & 0xf, layoutForCarve);
    });
    const rom = region(abi.VFIO_PCI_REGION.VFIO_PCI_ROM_REGION_INDEX);
    // INTx needs a pin (vfio virtualises it to 0 where INTx is unusable) and vfio's one INTx interrupt (docs/interfaces/vfio.md, "Regions" and "Interrupts").
    const intxPin = header[INTERRUPT_PIN]! <= 4 ? header[INTERRUPT_PIN]! : 0;
    const intxUsable = intxOption !== false && intxPin !== 0 && irqInfo(abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX).count === 1;
    const dma = new DmaMappings(device);
    const owned: IrqFdMsixRoutes[] = [];
    let assigned: AssignedPciDevice | undefined;
    // Disposing the VfioDevice first disposes this assigned device while its fds are still open.
    claimDevice(device, () => assigned?.dispose());
    try {
      dma.mapAll(op, ram);
      const intx = intxUsable ? intxOption : undefined;
      assigned = new AssignedPciDevice(
        CONSTRUCT,
        device,
        cfg.offset,
        { configSize: cfg.size, bars, romSize: rom.size, msixCap, msiCap, msixLayout, msiLayout, dynamicMsix, irqfd: irqfd as IrqFd, intxPin, interruptLine: header[INTERRUPT_LINE]!, intx, pcieCap, afCap, flrCapable, msixIrqCount, msiIrqCount },
        dma,
        o.onError,
        owned,
      );
      const e = assigned.intx?.enable(op);
      if (e) throw e;
      return assigned;
    } catch (e) {
      if (assigned) {
        assigned.dispose();
      } else {
        for (const r of owned) r.dispose();
        dma.unmapAll();
        releaseClaim(device);
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- diagnostics

  /** Failures reported through `onError` so far (the emulators' own included). */
  get errorCount(): number {
    return this.errors;
  }

  /** The most recent reported failure, or undefined. */
  get lastError(): Error | undefined {
    return this.lastErr;
  }

  /** True once {@link dispose} ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The guest address BAR `index` is programmed at (64-bit BARs joined), or undefined when `index` is not a BAR. */
  barAddress(index: number): number | undefined {
    return Number.isInteger(index) && index >= 0 && index < 6 ? this.virtualBars.address(index) : undefined;
  }

  /** MSI-X vectors bound to their route's event in vfio-pci now (bound lazily, at the guest's first unmask). */
  get boundMsixVectors(): readonly number[] {
    return this.msixBinding?.boundVectors() ?? [];
  }

  /**
   * The INTx line as the guest's interrupt controller sees it, on the user-space path (what
   * `onLevel` last said); undefined on the irqfd path (the hypervisor holds it) or without INTx.
   */
  get intxLevel(): boolean | undefined {
    return this.intx?.level;
  }

  /** The route INTx is delivered through now (irqfd path, while INTx is enabled in vfio), or undefined. */
  get intxRoute(): LevelIrqFdRoute | undefined {
    return this.intx?.route;
  }

  /**
   * The user-space path's trigger: vfio-pci signals it when the device raises INTx. Watch
   * `intxTrigger.fd` for readability (epoll) and call {@link pollIntx}. Undefined on other paths.
   * Owned by this device; disposed with it.
   */
  get intxTrigger(): Event | undefined {
    return this.intx?.delivery.kind === 'user-space' ? this.intx.delivery.trigger : undefined;
  }

  /**
   * User-space path: takes the trigger's signals; a signal raises the line (`onLevel(true)`) until
   * {@link intxEoi}. Returns the line. Call it when {@link intxTrigger} is readable (calling it at
   * other times is harmless). False on other paths and after dispose. Never throws.
   */
  pollIntx(): boolean {
    if (this.disposed || this.device.isDisposed || !this.intx) return false;
    return this.intx.poll();
  }

  /**
   * User-space path: the guest acknowledged the line's interrupt (the EOI of the vector your
   * interrupt controller delivered for it, or an unmask of the pin with a request latched). The line
   * falls, vfio unmasks INTx (VFIO_DEVICE_SET_IRQS DATA_NONE | ACTION_UNMASK) and, if the device
   * still asserts, the line rises again at once. No-op on other paths and after dispose. Never throws.
   */
  intxEoi(): void {
    if (this.disposed || this.device.isDisposed) return;
    this.intx?.eoi('AssignedPciDevice.intxEoi');
  }

  /** INTx back on in vfio once neither MSI nor MSI-X is enabled. */
  private resumeIntx(op: string): void {
    if (!this.intx || this.disposed || this.restoring || this.msix?.enabled === true || this.msi?.enabled === true) return;
    const e = this.intx.enable(op);
    if (e) this.report(e, op);
  }

  /** After a write that may change MSI-X Enable or Function Mask: INTx off before MSI-X goes on, back on after it is off. */
  private syncMsix(op: string): void {
    if (this.msix!.enabled) this.intx?.disable(op);
    this.msixBinding!.syncAll();
    if (!this.msix!.enabled) this.resumeIntx(op);
  }

  /** Reports to `onError`; inside restore() a kernel failure is kept for the throw at its end instead, unless `guest` (the guest's own doing). */
  private report(e: Error, op: string, guest = false): void {
    // After dispose: what an access still under way runs into (disposed routes) is nobody's concern.
    if (this.silenced) return;
    if (this.captured && !guest && e instanceof VirtError) {
      this.captured.push(e);
      return;
    }
    this.errors++;
    this.lastErr = e;
    try {
      this.onError?.(e, op);
    } catch {
      // The handler's own failure must not reach the guest path.
    }
  }

  // ---------------------------------------------------------------- config space

  /**
   * A guest config read of `size` bytes (1, 2 or 4) at `offset`, little endian. Any other size, an
   * offset past config space or an access after dispose (or after the {@link VfioDevice} was
   * disposed) reads all ones (a master abort). Never throws.
   */
  configRead(offset: number, size: number): number {
    if (!this.validConfig(offset, size)) return size === 1 || size === 2 || size === 4 ? ALL_ONES[size]! : 0xffffffff;
    const whole = this.capFor(offset, size);
    if (whole === 'msix') return this.msix!.configRead(offset - this.msixCapability!, size);
    if (whole === 'msi') return this.msi!.configRead(offset - this.msiCapability!, size);
    const bytes = new Uint8Array(size);
    this.walk(
      offset,
      size,
      (i, j) => {
        const at = offset + i;
        const part = bytes.subarray(i, j);
        // Disposed by an onError of an earlier byte of this access: the device fd may be someone else's.
        if (this.disposed) return void part.fill(0xff);
        const r = calls.regionRead(this.device.sys, this.device.deviceFd, this.configOffset, at, part);
        if (r < 0) {
          part.fill(0xff);
          this.report(failure(r, 'AssignedPciDevice.configRead', `pread(config @0x${at.toString(16)})`), 'AssignedPciDevice.configRead');
        }
        for (let k = i; k < j; k++) {
          if (offset + k === CMD + 1) bytes[k] = (bytes[k]! & ~CMD_INTX_DISABLE_HI) | (this.intxDisable ? CMD_INTX_DISABLE_HI : 0);
          const flr = this.flrAt(offset + k);
          if (flr) bytes[k] = bytes[k]! & ~flr.bit;
        }
      },
      (i, kind) => (bytes[i] = this.virtualByte(kind, offset + i)),
    );
    let v = 0;
    for (let k = size - 1; k >= 0; k--) v = v * 256 + bytes[k]!;
    return v;
  }

  /**
   * A guest config write of the low `size` bytes (1, 2 or 4) of `value` at `offset`. Other sizes,
   * offsets past config space, values that are not integers, and writes after dispose (or after the
   * {@link VfioDevice} was disposed) are dropped.
   * Never throws.
   */
  configWrite(offset: number, size: number, value: number): void {
    if (!this.validConfig(offset, size) || typeof value !== 'number' || !Number.isInteger(value)) return;
    const v = value >>> 0;
    const whole = this.capFor(offset, size);
    if (whole === 'msix') {
      this.msix!.configWrite(offset - this.msixCapability!, size, size === 4 ? v : v & ALL_ONES[size]!);
      this.syncMsix('MSI-X Message Control write');
      return;
    }
    // Any write reaching into the MSI capability (wholly inside it or not) asks vfio again for a refused enable.
    const m = this.msiCapability;
    const msiControls = m !== undefined && offset < m + this.msi!.size && offset + size > m ? this.msiBinding!.controls : undefined;
    if (whole === 'msi') {
      this.msi!.configWrite(offset - this.msiCapability!, size, size === 4 ? v : v & ALL_ONES[size]!);
      this.retryMsi(msiControls!);
      return;
    }
    const bytes = new Uint8Array(size);
    for (let k = 0; k < size; k++) bytes[k] = (v >>> (8 * k)) & 0xff;
    let flr = false;
    this.walk(
      offset,
      size,
      (i, j) => {
        const at = offset + i;
        let command = false;
        for (let k = i; k < j; k++) {
          if (offset + k === CMD + 1) {
            this.intxDisable = (bytes[k]! & CMD_INTX_DISABLE_HI) !== 0;
            command = true;
          }
          const f = this.flrAt(offset + k);
          if (f && (bytes[k]! & f.bit) !== 0) {
            bytes[k] = bytes[k]! & ~f.bit;
            if (f.resets) flr = true;
          }
        }
        if (this.disposed) return; // by an onError of an earlier byte of this access
        const r = calls.regionWrite(this.device.sys, this.device.deviceFd, this.configOffset, at, bytes.subarray(i, j));
        if (r < 0) this.report(failure(r, 'AssignedPciDevice.configWrite', `pwrite(config @0x${at.toString(16)})`), 'AssignedPciDevice.configWrite');
        // vfio masked or unmasked INTx for the write (and signals at once a device still asserting).
        if (command) this.intx?.guestDisable(this.intxDisable);
      },
      (i, kind) => this.writeVirtualByte(kind, offset + i, bytes[i]!),
    );
    if (msiControls !== undefined) this.retryMsi(msiControls);
    if (flr) this.guestFunctionLevelReset();
  }

  /** After a guest write that reached the MSI capability: vfio's refused MSI enable is asked for again (MsiBinding.retry). */
  private retryMsi(controlsBefore: number): void {
    this.msiBinding!.retry(controlsBefore, this.msi!.enabled, this.msi!.liveVectors, 'MSI capability write (vfio enable asked again)');
  }

  /**
   * Walks an access in order: each run of bytes vfio-pci serves goes to `device(i, j)` (bytes i to
   * j - 1 of the access) as one pread/pwrite, each byte kept here to `virtual(i, kind)`.
   */
  private walk(offset: number, size: number, device: (i: number, j: number) => void, virtual: (i: number, kind: VirtualKind) => void): void {
    let i = 0;
    while (i < size) {
      const kind = this.kindOf(offset + i);
      if (kind !== 'device') {
        virtual(i, kind);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < size && this.kindOf(offset + j) === 'device') j++;
      device(i, j);
      i = j;
    }
  }

  /** The Initiate Function Level Reset bit in the config byte at `at`, if that byte holds one. */
  private flrAt(at: number): (typeof this.flrBits)[number] | undefined {
    return this.flrBits.find((f) => f.at === at);
  }

  private validConfig(offset: number, size: number): boolean {
    return !this.disposed && !this.device.isDisposed && Number.isInteger(offset) && (size === 1 || size === 2 || size === 4) && offset >= 0 && offset + size <= this.configSize;
  }

  private capFor(offset: number, size: number): 'msix' | 'msi' | undefined {
    const x = this.msixCapability;
    if (x !== undefined && offset >= x && offset + size <= x + MSIX_CAPABILITY_SIZE) return 'msix';
    const m = this.msiCapability;
    if (m !== undefined && offset >= m && offset + size <= m + this.msi!.size) return 'msi';
    return undefined;
  }

  private kindOf(at: number): 'device' | VirtualKind {
    if (at >= 0x10 && at < 0x28) return 'bar';
    if (at >= 0x30 && at < 0x34) return 'rom';
    if (at === INTERRUPT_LINE) return 'line';
    const x = this.msixCapability;
    if (x !== undefined && at >= x && at < x + MSIX_CAPABILITY_SIZE) return 'msix';
    const m = this.msiCapability;
    if (m !== undefined && at >= m && at < m + this.msi!.size) return 'msi';
    return 'device';
  }

  private virtualByte(kind: VirtualKind, at: number): number {
    switch (kind) {
      case 'line':
        return this.interruptLine;
      case 'bar':
        return (this.virtualBars.read((at - 0x10) >> 2) >>> ((at & 3) * 8)) & 0xff;
      case 'rom':
        return (this.virtualBars.readRom() >>> ((at & 3) * 8)) & 0xff;
      case 'msix':
        return this.msix!.configRead(at - this.msixCapability!, 1);
      case 'msi':
        return this.msi!.configRead(at - this.msiCapability!, 1);
    }
  }

  private writeVirtualByte(kind: 'bar' | 'rom' | 'line' | 'msix' | 'msi', at: number, b: number): void {
    const shift = (at & 3) * 8;
    switch (kind) {
      case 'line':
        this.interruptLine = b;
        return;
      case 'bar': {
        const i = (at - 0x10) >> 2;
        const regs = this.virtualBars.regs;
        regs[i] = (regs[i]! & ~(0xff << shift)) | (b << shift);
        return;
      }
      case 'rom':
        this.virtualBars.rom = ((this.virtualBars.rom & ~(0xff << shift)) | (b << shift)) >>> 0;
        return;
      case 'msix':
        this.msix!.configWrite(at - this.msixCapability!, 1, b);
        this.syncMsix('MSI-X Message Control write');
        return;
      case 'msi':
        this.msi!.configWrite(at - this.msiCapability!, 1, b);
        return;
    }
  }

  // ---------------------------------------------------------------- BARs

  /**
   * A guest read of `out.length` bytes at `offset` of BAR `bar`, split at byte granularity: bytes
   * of the MSI-X table and PBA come from the emulator, the rest from the device (pread on the
   * region). Bytes outside any BAR, and device reads that fail (e.g. EIO while Memory Space is
   * off), read 0xFF. Never throws.
   */
  barRead(bar: number, offset: number, out: Uint8Array): void {
    if (!(out instanceof Uint8Array)) return this.report(invalidArgument('AssignedPciDevice.barRead', `out must be a Uint8Array, got ${describeValue(out)}`), 'AssignedPciDevice.barRead');
    this.barAccess(bar, offset, out, false);
  }

  /**
   * A guest write of `data` at `offset` of BAR `bar`, split as {@link barRead}: table and PBA
   * bytes to the emulator (a vector the write unmasks is bound in vfio), the rest to the device
   * (pwrite). Bytes outside any BAR are dropped. Never throws.
   */
  barWrite(bar: number, offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) return this.report(invalidArgument('AssignedPciDevice.barWrite', `data must be a Uint8Array, got ${describeValue(data)}`), 'AssignedPciDevice.barWrite');
    this.barAccess(bar, offset, data, true);
  }

  private barAccess(bar: number, offset: number, buf: Uint8Array, write: boolean): void {
    const info = Number.isInteger(bar) && bar >= 0 && bar < 6 ? this.bars[bar] : undefined;
    if (this.disposed || this.device.isDisposed || !info || !Number.isSafeInteger(offset) || offset < 0) {
      if (!write) buf.fill(0xff);
      return;
    }
    const n = buf.length;
    const msix = this.msix;
    let i = 0;
    while (i < n) {
      const at = offset + i;
      const emulated = msix !== undefined && msix.region(bar, at) !== undefined;
      let j = i + 1;
      while (j < n && (msix !== undefined && msix.region(bar, offset + j) !== undefined) === emulated) j++;
      const part = buf.subarray(i, j);
      if (emulated) {
        if (write) {
          msix.write(bar, at, part);
          const t = msix.layout;
          if (bar === t.tableBir) {
            const first = Math.max(0, Math.floor((at - t.tableOffset) / 16));
            const last = Math.min(msix.vectors - 1, Math.floor((at + part.length - 1 - t.tableOffset) / 16));
            for (let v = first; v <= last; v++) this.msixBinding!.syncVector(v);
          }
        } else {
          msix.read(bar, at, part);
        }
      } else if (at + part.length > info.size) {
        // Partly or wholly past the BAR: the in-range bytes go to the device, the rest are master aborts.
        const inRange = Math.max(0, info.size - at);
        if (inRange > 0) this.deviceBar(info, at, part.subarray(0, inRange), write);
        if (!write) part.subarray(inRange).fill(0xff);
      } else {
        this.deviceBar(info, at, part, write);
      }
      i = j;
    }
  }

  private deviceBar(info: AssignedBar, at: number, part: Uint8Array, write: boolean): void {
    // Disposed by an onError of an earlier part of this access: the device fd may be someone else's.
    if (this.disposed) {
      if (!write) part.fill(0xff);
      return;
    }
    const sys = this.device.sys;
    const fd = this.device.deviceFd;
    const r = write ? calls.regionWrite(sys, fd, info.regionOffset, at, part) : calls.regionRead(sys, fd, info.regionOffset, at, part);
    if (r < 0) {
      if (!write) part.fill(0xff);
      const op = write ? 'AssignedPciDevice.barWrite' : 'AssignedPciDevice.barRead';
      this.report(failure(r, op, `${write ? 'pwrite' : 'pread'}(BAR ${info.index} @0x${at.toString(16)})`), op);
    }
  }

  // ---------------------------------------------------------------- reset, save, restore

  /**
   * Function reset: vfio's MSI, MSI-X and INTx are disabled first (nothing more is signalled; the
   * INTx line is deasserted), Command's I/O, Memory, Bus Master and INTx Disable bits are cleared
   * in the device, `VFIO_DEVICE_RESET` runs, and the emulators and virtual registers return to
   * power-on: every route masked without a message and its latched signals dropped, so nothing
   * stale is delivered afterwards; Interrupt Line returns to its value at assignment. INTx is then
   * enabled in vfio again as at assignment (QEMU vfio_pci_pre_reset / vfio_pci_post_reset). A
   * guest's write of 1 to Initiate Function Level Reset runs the same reset where
   * {@link functionLevelReset} is true.
   *
   * @throws VirtError DISPOSED after dispose or once the {@link VfioDevice} is disposed; UNSUPPORTED (nothing done) when the device has no
   *   reset method (VFIO_DEVICE_FLAGS_RESET clear); SYSCALL when VFIO_DEVICE_RESET fails (e.g.
   *   EAGAIN: the device lock is busy) — the VMM-side state is at power-on even then.
   */
  reset(): void {
    const op = 'AssignedPciDevice.reset';
    this.checkLive(op);
    if ((this.device.info.flags & abi.VFIO_DEVICE_FLAGS_RESET) === 0) {
      throw new VirtError('UNSUPPORTED', { operation: op, detail: 'the device has no function reset (VFIO_DEVICE_FLAGS_RESET is clear)', hint: 'Reset it through its bus or slot, or reassign it; nothing was changed.' });
    }
    const e = this.functionReset(op);
    if (e) throw e;
  }

  /**
   * The guest wrote 1 to Initiate Function Level Reset. PCIe Base Specification, "Device Control
   * Register": a write of 1b initiates Function Level Reset, the bit always reads 0b; it is
   * meaningful only when Device Capabilities has Function Level Reset Capability (AF Control's
   * bit likewise, with AF Capabilities' TP and FLR). With it (and
   * VFIO_DEVICE_FLAGS_RESET) this is {@link reset}; a failure (VFIO_DEVICE_RESET's EAGAIN) goes to
   * `onError`, since the guest's write cannot be thrown at: the VMM side is at power-on, the device
   * is not reset, and its hint says to call {@link reset}. configWrite calls it only for a register
   * that resets (its `flrBits` entry); any other write of the bit is dropped there.
   */
  private guestFunctionLevelReset(): void {
    const op = 'AssignedPciDevice.configWrite (Initiate Function Level Reset)';
    const e = this.functionReset(op);
    if (!e) return;
    // Nobody retries a guest's write: say where things stand and what the VMM can do instead.
    const busy = e.errnoName === 'EAGAIN';
    this.report(
      new VirtError(e.code, {
        operation: op,
        detail: `the guest's Function Level Reset did not reset the device: ${e.detail}${busy ? ' (EAGAIN: the device lock was busy)' : ''}. The emulators, the virtual registers and vfio's interrupts are at power-on; the device itself keeps its state`,
        hint: "The guest will not repeat the write: call the AssignedPciDevice's reset() to reset the device (it throws if that fails too), or reset the guest.",
        errno: e.errno,
        errnoName: e.errnoName,
        cause: e,
      }),
      op,
    );
  }

  /** The function reset behind {@link reset} and a guest's FLR; returns VFIO_DEVICE_RESET's failure (the VMM side is at power-on even then). */
  private functionReset(op: string): VirtError | undefined {
    this.msixBinding?.disable(op);
    this.msiBinding?.disable(op);
    this.intx?.disable(op);
    // An onError of those disables disposed this device: its device fd may be someone else's now.
    if (this.disposed) return new VirtError('DISPOSED', { operation: op, detail: 'the assigned device was disposed during the reset (from onError)', hint: 'Create a new AssignedPciDevice.' });
    const cmd = new Uint8Array(2);
    const sys = this.device.sys;
    const fd = this.device.deviceFd;
    const rc = calls.regionRead(sys, fd, this.configOffset, CMD, cmd);
    if (rc >= 0) {
      cmd[0] = cmd[0]! & ~0x07;
      // vfio keeps its virtual INTx Disable across VFIO_DEVICE_RESET (config is saved and restored around it).
      cmd[1] = cmd[1]! & ~CMD_INTX_DISABLE_HI;
      calls.regionWrite(sys, fd, this.configOffset, CMD, cmd);
    }
    const r = calls.deviceReset(sys, fd);
    this.msix?.reset();
    this.msi?.reset();
    this.virtualBars.reset();
    this.intxDisable = false;
    this.interruptLine = this.initialInterruptLine;
    this.intx?.guestDisable(false);
    this.resumeIntx(op);
    return r < 0 ? failure(r, op, 'ioctl(VFIO_DEVICE_RESET)') : undefined;
  }

  /**
   * The VMM-owned state: virtual BAR and ROM registers, Command (INTx Disable included), Interrupt
   * Line, an INTx interrupt pending on the user-space path, the MSI-X table, control and
   * pending bits, the MSI registers and pending bits (signals latched in routes folded in). Not in
   * it: the device's internal state, its BAR contents and the config registers vfio-pci passes
   * through (the kernel's and the device's; device migration is VFIO's migration feature, not this).
   * Command is read from the device, so a failed read is an error, never a recorded all-ones value.
   *
   * @throws VirtError DISPOSED after {@link dispose} or once the {@link VfioDevice} is disposed;
   *   SYSCALL (with the errno) when the pread of Command through vfio fails.
   */
  save(): AssignedPciDeviceState {
    const op = 'AssignedPciDevice.save';
    this.checkLive(op);
    return {
      version: 2,
      bars: Array.from(this.virtualBars.regs),
      rom: this.virtualBars.rom,
      command: this.readCommand(op),
      msix: this.msix?.save(),
      msixLive: this.msixBinding?.boundVectors() ?? [],
      msi: this.msi?.save(),
      interruptLine: this.interruptLine,
      intxPending: this.intx?.pending ?? false,
    };
  }

  /**
   * Restores a {@link save} snapshot onto this device or another one of the same function type (a
   * migration target): the registers and emulators are restored, Command is written to the
   * device, and vfio's MSI or MSI-X is enabled again, or INTx when neither is (a pending INTx is
   * raised again). MSI-X is enabled with the snapshot's live vectors (`msixLive`) and those the
   * restored state lets deliver, in one `VFIO_DEVICE_SET_IRQS`; MSI with the vectors granted.
   * Pending interrupts are kept; masked vectors stay masked. A version-1 snapshot has no live set:
   * the vectors bound on this device before the restore stay bound, as version 1 did.
   *
   * Everything that can be known beforehand is checked before any change: the snapshot's shape,
   * and the MSI-X vectors it needs bound (its live vectors and those it lets deliver) and the MSI
   * vectors it grants against the device's interrupt counts (VFIO_DEVICE_GET_IRQ_INFO, read at
   * {@link create}). What only the kernel can say (the host's free vectors, a failing call) is
   * known during the restore: it completes, then throws. The state it leaves then: the registers
   * and emulators hold the snapshot (the guest reads what it saved); vfio has bound only what it
   * accepted, and {@link boundMsixVectors} lists exactly those; a guest unmask of an MSI-X vector
   * left unbound, or its next MSI-X Enable, asks vfio again (MSI: its next write to the MSI
   * capability). A message the guest left invalid (a vector it lets deliver, or an MSI Enable, with
   * no valid address programmed) is not a kernel refusal: the route refuses it (INVALID_MSI) and it
   * goes to `onError`, as on the guest path; that vector delivers nothing until the guest programs
   * it, and the restore does not throw for it.
   *
   * @throws VirtError, each naming `AssignedPciDevice.restore`:
   *   - INVALID_ARGUMENT, nothing changed: a snapshot that does not fit this device (an unknown
   *     `version`, a field that version does not have, malformed registers, other capabilities, an emulator snapshot of another layout
   *     or with a bad field, named as `state.msix.pending[3]`, a `msixLive` that is not an
   *     ascending list of this function's vectors, or live vectors with MSI-X disabled);
   *   - EXHAUSTED, nothing changed: the snapshot needs more MSI-X or MSI vectors than the device's
   *     VFIO_DEVICE_GET_IRQ_INFO count (the detail names both);
   *   - DISPOSED, nothing changed: after {@link dispose}, or once the {@link VfioDevice} is disposed;
   *   - after the restore was carried out as far as the kernel allowed (state as above): EXHAUSTED
   *     when VFIO_DEVICE_SET_IRQS allocated fewer host vectors than asked, SYSCALL (with the errno)
   *     when a VFIO_DEVICE_SET_IRQS, the Command write or a route update failed in the kernel (an
   *     errno or HRESULT), PERMISSION where the kernel refused it so. The error's `cause` is the first failure; the detail lists all.
   */
  restore(state: AssignedPciDeviceState): void {
    const op = 'AssignedPciDevice.restore';
    this.checkLive(op);
    const s = state as unknown as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw invalidArgument(op, `state must be an AssignedPciDevice.save() snapshot (an object), got ${describeValue(state)}`);
    if (s.version !== 1 && s.version !== 2) throw invalidArgument(op, `state.version is ${describeValue(s.version)}; this version reads snapshots of version 1 or 2`);
    // A field this version does not know would be dropped without a word: refuse it instead.
    checkOptions<AssignedPciDeviceState>(op, `state (version ${s.version})`, s, s.version === 1 ? SNAPSHOT_V1_FIELDS : [...SNAPSHOT_V1_FIELDS, 'msixLive']);
    const u32 = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    if (!Array.isArray(s.bars) || s.bars.length !== 6) throw invalidArgument(op, `state.bars must be an array of the six BAR registers, got ${describeValue(s.bars)}`);
    const badBar = s.bars.findIndex((x) => !u32(x));
    if (badBar >= 0) throw invalidArgument(op, `state.bars[${badBar}] is ${describeValue(s.bars[badBar])}, not a 32-bit register`);
    if (!u32(s.rom)) throw invalidArgument(op, `state.rom must be a 32-bit register, got ${describeValue(s.rom)}`);
    if (!u32(s.command) || (s.command as number) > 0xffff) throw invalidArgument(op, `state.command must be a 16-bit register, got ${describeValue(s.command)}`);
    if (!u32(s.interruptLine) || (s.interruptLine as number) > 0xff) throw invalidArgument(op, `state.interruptLine must be a byte, got ${describeValue(s.interruptLine)}`);
    if (typeof s.intxPending !== 'boolean') throw invalidArgument(op, `state.intxPending must be a boolean, got ${describeValue(s.intxPending)}`);
    if ((s.msix === undefined) !== (this.msix === undefined) || (s.msi === undefined) !== (this.msi === undefined)) {
      const has = (x: unknown) => (x === undefined ? 'none' : 'one');
      throw invalidArgument(op, `the snapshot is of a function with other capabilities: state.msix ${has(s.msix)} and state.msi ${has(s.msi)}, this function MSI-X ${has(this.msix)} and MSI ${has(this.msi)}`);
    }
    // The emulators check their own snapshots; try them on scratch copies first so a bad one changes nothing.
    const scratch = (field: string, run: () => void): void => {
      try {
        run();
      } catch (e) {
        throw e instanceof VirtError ? new VirtError(e.code, { operation: op, detail: e.detail.replace(/\bstate\b/g, field), hint: e.hint, cause: e }) : e;
      }
    };
    const msix = this.msix;
    const msixState = s.msix as MsixState | undefined;
    if (msix) {
      scratch('state.msix', () =>
        new MsixEmulator({ vectors: msix.vectors, table: { bir: msix.layout.tableBir, offset: msix.layout.tableOffset }, pba: { bir: msix.layout.pbaBir, offset: msix.layout.pbaOffset } }).restore(msixState!),
      );
    }
    const msi = this.msi;
    const msiState = s.msi as MsiState | undefined;
    if (msi) scratch('state.msi', () => new MsiEmulator({ vectors: msi.vectors, address64: msi.layout.address64, perVectorMasking: msi.layout.perVectorMasking }).restore(msiState!));
    const live = s.version === 2 ? checkLiveVectors(op, s.msixLive, this.msix?.vectors ?? 0, msixState?.enable === true) : (this.msixBinding?.boundVectors() ?? []);
    if (msixState?.enable) {
      // The vectors syncRestored binds: the live ones and those the restored state lets deliver.
      let top = live.length > 0 ? live[live.length - 1]! + 1 : 0;
      if (!msixState.functionMask) for (let v = msixState.vectors - 1; v >= top; v--) if ((msixState.table[v * 4 + 3]! & 1) === 0) top = v + 1;
      if (top > this.msixIrqCount) {
        throw new VirtError('EXHAUSTED', {
          operation: op,
          detail: `the snapshot needs MSI-X vectors 0-${top - 1} bound (${top}), the device has ${this.msixIrqCount} (VFIO_DEVICE_GET_IRQ_INFO); nothing was changed`,
          hint: 'Restore it onto a device of the same function type (the same MSI-X vector count).',
        });
      }
    }
    if (msiState?.enable && 1 << msiState.multipleMessageEnable > this.msiIrqCount) {
      throw new VirtError('EXHAUSTED', {
        operation: op,
        detail: `the snapshot grants ${1 << msiState.multipleMessageEnable} MSI vectors, the device has ${this.msiIrqCount} (VFIO_DEVICE_GET_IRQ_INFO); nothing was changed`,
        hint: 'Restore it onto a device of the same function type (the same MSI vector count).',
      });
    }
    // vfio-pci runs one mode at a time: MSI-X and INTx off first; MSI follows its emulator through
    // onControl (called by MsiEmulator.restore only when Enable or the vectors granted change, so
    // an MSI block already enabled as the snapshot has it stays bound), then MSI-X, then INTx.
    const failures: VirtError[] = [];
    this.captured = failures;
    this.restoring = true;
    try {
      this.msixBinding?.disable(op);
      this.intx?.disable(op);
      (s.bars as number[]).forEach((b, i) => (this.virtualBars.regs[i] = b));
      this.virtualBars.rom = s.rom as number;
      this.interruptLine = s.interruptLine as number;
      this.configWrite(CMD, 2, s.command as number);
      if (this.msi) {
        const controls = this.msiBinding!.controls;
        this.msi.restore(msiState!);
        this.msiBinding!.retry(controls, this.msi.enabled, this.msi.liveVectors, op);
      }
      if (this.msix) {
        this.msix.restore(msixState!);
        this.msixBinding!.syncRestored(live);
      }
    } finally {
      this.restoring = false;
    }
    try {
      this.resumeIntx(op);
      this.intx?.restorePending(s.intxPending);
    } finally {
      this.captured = undefined;
    }
    // onError disposed this device during the restore: what followed was not done.
    if (this.disposed) throw new VirtError('DISPOSED', { operation: op, detail: 'the assigned device was disposed during the restore (from onError)', hint: 'Create a new AssignedPciDevice to restore into.' });
    const first = failures[0];
    if (first) {
      throw new VirtError(first.code, {
        operation: op,
        detail:
          `the snapshot is restored but the kernel refused part of it: ${failures.map((e) => `${e.operation}: ${e.detail}${e.errnoName ? ` (${e.errnoName})` : ''}`).join('; ')}. ` +
          `Bound in vfio now: MSI-X vectors [${this.boundMsixVectors.join(', ')}]`,
        hint: 'The guest sees the snapshot; vectors vfio refused stay unbound and are asked for again at the guest\'s next unmask or MSI-X Enable. Free host vectors or retry restore().',
        errno: first.errno,
        errnoName: first.errnoName,
        cause: first,
      });
    }
  }

  /** Command as the guest reads it (INTx Disable kept here), from the device; throws typed on a failed read. */
  private readCommand(op: string): number {
    const cmd = new Uint8Array(2);
    const r = calls.regionRead(this.device.sys, this.device.deviceFd, this.configOffset, CMD, cmd);
    if (r < 0) throw failure(r, op, 'pread(config @0x4, Command)');
    if (r < 2) throw new VirtError('SYSCALL', { operation: op, detail: `pread(config @0x4, Command) read ${r} of 2 bytes`, hint: 'The device did not answer a config read: check that it is still present (lspci) and bound to vfio-pci.' });
    return cmd[0]! | ((cmd[1]! & ~CMD_INTX_DISABLE_HI) << 8) | (this.intxDisable ? CMD_INTX_DISABLE_HI << 8 : 0);
  }

  private checkLive(op: string): void {
    if (this.device.isDisposed) {
      throw new VirtError('DISPOSED', {
        operation: op,
        detail: `the VfioDevice ${this.device.address} under this assigned device is disposed (its fds are closed), which disposed the assigned device first`,
        hint: 'Open the device again and create a new AssignedPciDevice to go on.',
      });
    }
    if (this.disposed) throw new VirtError('DISPOSED', { operation: op, detail: 'the assigned device is disposed', hint: 'Create a new AssignedPciDevice.' });
  }

  /**
   * Unbinds every eventfd from vfio (MSI, MSI-X and INTx disabled: no trigger or unmask eventfd
   * stays registered), then disposes the routes (the INTx line is deasserted) and the user-space
   * INTx trigger, and unmaps the DMA ranges. The {@link VfioDevice} stays open (its owner disposes it)
   * and may be assigned again. {@link VfioDevice.dispose} on a device still assigned runs this
   * first, while its fds are open; a later call here then does nothing. Idempotent; never throws
   * (failures go to `onError`).
   */
  dispose(): void {
    if (this.disposed) return;
    const op = 'AssignedPciDevice.dispose';
    // The device's fds are open here: VfioDevice.dispose runs this before it closes them.
    this.msixBinding?.disable(op);
    this.msiBinding?.disable(op);
    this.intx?.disable(op);
    this.msixBinding?.detach();
    this.msiBinding?.detach();
    // A guest access or restore that called onError, which disposed us, is still under way: it must
    // not issue SET_IRQS with closed (or reused) numbers, nor touch the device fd, once we return.
    this.msixIndex.close();
    this.msiIndex.close();
    this.intx?.close();
    this.disposed = true;
    if (this.intx?.delivery.kind === 'user-space') this.intx.delivery.trigger.dispose();
    this.msix?.clearRoutes();
    this.msi?.clearRoutes();
    for (const r of this.ownedRoutes) r.dispose();
    for (const e of this.dma.unmapAll()) this.report(e, op);
    releaseClaim(this.device);
    this.silenced = true;
  }

  /** {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** True for a failure the kernel (or Windows) answered, as opposed to a message a route refused to program. */
function isKernelRefusal(e: Error): boolean {
  return e instanceof VirtError && (e.errno !== undefined || e.hresult !== undefined);
}

/** A snapshot's `msixLive`: ascending vectors below `vectors`, and none unless MSI-X is enabled. */
function checkLiveVectors(op: string, value: unknown, vectors: number, enabled: boolean): number[] {
  if (!Array.isArray(value)) throw invalidArgument(op, `state.msixLive must be an ascending list of MSI-X vectors below ${vectors}, got ${describeValue(value)}`);
  const bad = value.findIndex((v, i) => !Number.isInteger(v) || (v as number) < 0 || (v as number) >= vectors || (i > 0 && (v as number) <= (value[i - 1] as number)));
  if (bad >= 0) throw invalidArgument(op, `state.msixLive must be an ascending list of distinct MSI-X vectors below ${vectors}: state.msixLive[${bad}] is ${describeValue(value[bad])} in ${describeValue(value)}`);
  if (!enabled && value.length > 0) throw invalidArgument(op, `state.msixLive lists vectors ${value.join(', ')} but the snapshot's MSI-X is disabled (no vector is live then)`);
  return value as number[];
}

/** Checks the `intx` option before anything is done; returns it, or false. */
function checkIntxOption(op: string, value: unknown): AssignedIntxOptions | false {
  if (value === undefined || value === false) return false;
  if (typeof value !== 'object' || value === null) throw invalidArgument(op, `intx must be false, { mode: 'irqfd', gsi } or { mode: 'user-space', onLevel? }, got ${describeValue(value)}`);
  const mode = (value as { mode?: unknown }).mode;
  if (mode === 'irqfd') {
    const v = checkOptions<AssignedIntxIrqFdOptions>(op, 'intx', value, ['mode', 'gsi']);
    checkInteger(op, 'intx.gsi', v.gsi, 0, IOAPIC_PINS - 1);
    return v;
  }
  if (mode === 'user-space') {
    const v = checkOptions<AssignedIntxUserSpaceOptions>(op, 'intx', value, ['mode', 'onLevel']);
    if (v.onLevel !== undefined && typeof v.onLevel !== 'function') throw invalidArgument(op, `intx.onLevel must be a function (level) => void, got ${describeValue(v.onLevel)}`);
    return v;
  }
  throw invalidArgument(op, `intx.mode must be 'irqfd' or 'user-space', got ${describeValue(mode)}`);
}
