/**
 * Opening a PCI function bound to vfio-pci by its PCI address: sysfs says which IOMMU group it is
 * in, which driver holds it and whether the kernel has its device cdev; then the legacy
 * container/group path (type1v2 IOMMU) or the cdev + iommufd path opens it (docs/interfaces/vfio.md, "Opening a device"). Every
 * refusal is a typed error that says what to do.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Disposable, VirtError } from '@tsvmm/virt';
import { describeValue, invalidArgument, checkConstructToken, checkOptions } from '@tsvmm/virt/implement';
import { EACCES, EBUSY, ENOENT, ENODEV, ENXIO, EPERM, O_RDWR, check, devicePermissionHint, errnoName, failure } from '@tsvmm/linux-sys';
import * as abi from './abi';
import * as calls from './calls';
import { releaseOwner } from './ownership';
import { type VfioSyscalls, checkVfioSyscalls, vfioSyscalls } from './sys';

/** How {@link VfioDevice.open} opens a device. */
export interface VfioOpenOptions {
  /** The PCI name `dddd:bb:dd.f` (lower-case hex), as in `/sys/bus/pci/devices`. */
  readonly address: string;
  /**
   * `legacy` (default): `/dev/vfio/vfio` and `/dev/vfio/<group>` with the type1v2 IOMMU, on every
   * kernel with VFIO. `cdev`: `/dev/vfio/devices/vfioN` bound to a new `/dev/iommu` IOAS (Linux 6.6
   * with CONFIG_VFIO_DEVICE_CDEV). `auto`: cdev where sysfs shows the device's cdev, else legacy.
   */
  readonly path?: 'legacy' | 'cdev' | 'auto';
  /** The system calls (default {@link vfioSyscalls}; a `VfioKernelModel` in tests). */
  readonly sys?: VfioSyscalls;
  /** Where sysfs is mounted (default `/sys`); tests point it at a fake tree. */
  readonly sysfs?: string;
  /** The device directory the nodes are opened under (default `/dev`). */
  readonly devfs?: string;
}

/** A function of an IOMMU group, as sysfs lists it. */
export interface GroupMember {
  /** Its PCI name. */
  readonly address: string;
  /** The driver bound to it, or undefined when none is. */
  readonly driver: string | undefined;
}

/** What sysfs says about a PCI function: read by {@link VfioDevice.open}, and on its own for diagnostics. */
export interface VfioSysfsFacts {
  /** The PCI name. */
  readonly address: string;
  /** The driver bound to it (`vfio-pci`), or undefined when none is. */
  readonly driver: string | undefined;
  /** Its IOMMU group number, or undefined when it has none (no IOMMU). */
  readonly group: number | undefined;
  /** The other functions of its IOMMU group, each with its driver. */
  readonly groupDevices: readonly GroupMember[];
  /** Its device cdev name (`vfio3`, from `vfio-dev/`), or undefined when the kernel has none for it. */
  readonly cdev: string | undefined;
}

const PCI_NAME = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

/** Whether a driver name is vfio-pci or a vfio-pci variant driver (`mlx5_vfio_pci`, `hisi-acc-vfio-pci`...). */
function isVfioPci(driver: string | undefined): boolean {
  return driver !== undefined && /(^|[-_])vfio[-_]pci$/.test(driver);
}

/**
 * Reads what sysfs says about `address` under `sysfs` (default `/sys`): driver, IOMMU group, the
 * group's other functions and the device cdev. Throws UNAVAILABLE when there is no such PCI
 * function, INVALID_ARGUMENT for an address that is not a PCI name.
 */
export function readVfioSysfs(address: string, sysfs = '/sys', operation = 'readVfioSysfs'): VfioSysfsFacts {
  if (typeof address !== 'string' || !PCI_NAME.test(address)) {
    throw invalidArgument(operation, `address must be a PCI name dddd:bb:dd.f in lower-case hex (e.g. 0000:01:00.0), got ${describeValue(address)}`);
  }
  const dev = join(sysfs, 'bus/pci/devices', address);
  try {
    readdirSync(dev);
  } catch {
    throw new VirtError('UNAVAILABLE', {
      operation,
      detail: `there is no PCI function ${address} (${dev} does not exist)`,
      hint: 'Check the address with lspci -D.',
    });
  }
  const groupLink = linkName(join(dev, 'iommu_group'));
  const group = groupLink !== undefined && /^\d+$/.test(groupLink) ? Number(groupLink) : undefined;
  let groupDevices: GroupMember[] = [];
  if (group !== undefined) {
    try {
      groupDevices = readdirSync(join(sysfs, 'kernel/iommu_groups', String(group), 'devices'))
        .filter((a) => a !== address)
        .sort()
        .map((a) => ({ address: a, driver: linkName(join(sysfs, 'bus/pci/devices', a, 'driver')) }));
    } catch {
      groupDevices = [];
    }
  }
  let cdev: string | undefined;
  try {
    cdev = readdirSync(join(dev, 'vfio-dev')).find((n) => /^vfio\d+$/.test(n));
  } catch {
    cdev = undefined;
  }
  return Object.freeze({ address, driver: linkName(join(dev, 'driver')), group, groupDevices: Object.freeze(groupDevices), cdev });
}

/** The hint for a function that has no IOMMU group: enable the IOMMU; what the no-IOMMU mode would give up. */
const NO_IOMMU_HINT =
  'Enable the IOMMU: VT-d or AMD-Vi in the firmware, and intel_iommu=on (Intel) or amd_iommu=on (AMD) on the kernel command line, then reboot. ' +
  'The module option vfio.enable_unsafe_noiommu_mode=1 would give the function a /dev/vfio/noiommu-<n> group without an IOMMU, but it has no DMA ' +
  'translation and no isolation: the device reads and writes host physical memory, and the kernel is tainted. That is unfit for a guest, and this package does not use it.';

function bindHint(address: string, driver: string | undefined): string {
  const unbind = driver === undefined ? '' : `echo ${address} > /sys/bus/pci/devices/${address}/driver/unbind; `;
  return `Bind it to vfio-pci (as root): modprobe vfio-pci; ${unbind}echo vfio-pci > /sys/bus/pci/devices/${address}/driver_override; echo ${address} > /sys/bus/pci/drivers_probe.`;
}

/** Held by {@link VfioDevice.open} alone: the constructor is internal (it takes fds already open). */
const CONSTRUCT = Symbol('VfioDevice.open');

/**
 * A PCI function opened through VFIO. Owns its fds (the device fd, and the group and container, or
 * the iommufd); {@link VfioDevice.dispose} closes them, device first. Each is close-on-exec.
 */
export class VfioDevice implements Disposable {
  private disposed = false;

  private constructor(
    token: symbol,
    /** The system calls every call on this device goes through. */
    readonly sys: VfioSyscalls,
    /** The PCI name. */
    readonly address: string,
    /** Its IOMMU group number. */
    readonly group: number,
    /** The path it was opened through. */
    readonly path: 'legacy' | 'cdev',
    /** The device fd: ioctls, pread and pwrite of its regions. */
    readonly deviceFd: number,
    /** The container fd (legacy) or the iommufd (cdev): where DMA is mapped. */
    readonly iommuFd: number,
    /** The group fd (legacy), or -1. */
    readonly groupFd: number,
    /** The IOAS the device is attached to (cdev), or 0. */
    readonly ioasId: number,
    /** VFIO_DEVICE_GET_INFO: flags, regions and interrupt indexes. */
    readonly info: calls.DeviceInfo,
  ) {
    checkConstructToken(token, CONSTRUCT, 'VfioDevice', 'VfioDevice.open()');
  }

  /**
   * Opens the PCI function `address`, bound to vfio-pci, through the legacy or the cdev path
   * ({@link VfioOpenOptions.path}). Arguments are checked before anything is opened; on any failure
   * every fd opened so far is closed again.
   *
   * @throws VirtError INVALID_ARGUMENT for bad options; UNAVAILABLE when the function does not
   *   exist, is not bound to vfio-pci (the hint says how to bind it), has no IOMMU group (the hint
   *   says how to enable the IOMMU and why the no-IOMMU mode is not used), when its group is not
   *   viable (the hint names the group's functions bound to host drivers), when /dev/vfio or the
   *   cdev is missing; PERMISSION on EACCES / EPERM (with what to do on this host); BUSY when the
   *   group is open elsewhere or its device is bound through the cdev (EBUSY); UNSUPPORTED when the
   *   container lacks the type1v2 IOMMU or reports another API version; SYSCALL for another errno.
   */
  static open(options: VfioOpenOptions): VfioDevice {
    const op = 'VfioDevice.open';
    const o = checkOptions<VfioOpenOptions>(op, 'options', options, ['address', 'path', 'sys', 'sysfs', 'devfs']);
    const address: unknown = o.address;
    const path: unknown = o.path ?? 'legacy';
    const sysfs: unknown = o.sysfs ?? '/sys';
    const devfs: unknown = o.devfs ?? '/dev';
    const sysOption: unknown = o.sys;
    if (path !== 'legacy' && path !== 'cdev' && path !== 'auto') throw invalidArgument(op, `path must be 'legacy', 'cdev' or 'auto', got ${describeValue(path)}`);
    if (typeof sysfs !== 'string' || sysfs === '') throw invalidArgument(op, `sysfs must be a directory path, got ${describeValue(sysfs)}`);
    if (typeof devfs !== 'string' || devfs === '') throw invalidArgument(op, `devfs must be a directory path, got ${describeValue(devfs)}`);
    const sys = sysOption === undefined ? vfioSyscalls() : checkVfioSyscalls(op, 'sys', sysOption);
    const facts = readVfioSysfs(address as string, sysfs, op);
    if (!isVfioPci(facts.driver)) {
      throw new VirtError('UNAVAILABLE', {
        operation: op,
        detail: facts.driver === undefined ? `${facts.address} is bound to no driver` : `${facts.address} is bound to ${facts.driver}, not vfio-pci`,
        hint: bindHint(facts.address, facts.driver),
      });
    }
    if (facts.group === undefined) {
      throw new VirtError('UNAVAILABLE', { operation: op, detail: `${facts.address} has no IOMMU group: the host has no IOMMU enabled`, hint: NO_IOMMU_HINT });
    }
    const useCdev = path === 'cdev' || (path === 'auto' && facts.cdev !== undefined);
    if (useCdev && facts.cdev === undefined) {
      throw new VirtError('UNAVAILABLE', {
        operation: op,
        detail: `${facts.address} has no VFIO device cdev (no vfio-dev/ in sysfs)`,
        hint: "Use path 'legacy', or a Linux 6.6 or later kernel built with CONFIG_VFIO_DEVICE_CDEV and CONFIG_IOMMUFD.",
      });
    }
    const f = useCdev ? openCdev(sys, op, devfs, facts) : openLegacy(sys, op, devfs, facts);
    return new VfioDevice(CONSTRUCT, sys, facts.address, facts.group, f.path, f.deviceFd, f.iommuFd, f.groupFd, f.ioasId, f.info);
  }

  /** True once {@link dispose} ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Closes the device fd, then the group and container (legacy) or the iommufd (cdev). Closing the
   * last device fd makes vfio-pci disable the device's interrupts and reset it. An
   * `AssignedPciDevice` still assigned on this device is disposed first, while the fds are open:
   * its eventfds are unbound (`VFIO_DEVICE_SET_IRQS` disables), its routes disposed and its DMA
   * unmapped, so nothing is left bound or mapped when the fds close, and its own later `dispose()`
   * does nothing. Idempotent; never throws (the owner's failures go to its `onError`).
   */
  dispose(): void {
    if (this.disposed) return;
    // The owner's SET_IRQS and unmap calls need these fds open: release it before closing them.
    releaseOwner(this);
    this.disposed = true;
    this.sys.close(this.deviceFd);
    if (this.groupFd >= 0) this.sys.close(this.groupFd);
    this.sys.close(this.iommuFd);
  }

  /** {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** What the legacy or the cdev path opened, for the VfioDevice that owns it. */
interface OpenedFds {
  readonly path: 'legacy' | 'cdev';
  readonly deviceFd: number;
  readonly iommuFd: number;
  readonly groupFd: number;
  readonly ioasId: number;
  readonly info: calls.DeviceInfo;
}

function openNode(sys: VfioSyscalls, op: string, node: string, what: string, facts: VfioSysfsFacts): number {
  const fd = sys.open(node, O_RDWR);
  if (fd >= 0) return fd;
  const errno = -fd;
  let hint: string | undefined;
  if (errno === ENOENT || errno === ENODEV || errno === ENXIO) {
    throw new VirtError('UNAVAILABLE', {
      operation: op,
      detail: `${node} (${what}) does not exist`,
      hint: 'Load the VFIO driver (modprobe vfio-pci) and check the device is bound to it; a group node appears once every function of the group is bound to vfio-pci or to no driver.',
      errno,
      errnoName: errnoName(errno),
    });
  }
  if (errno === EACCES || errno === EPERM) hint = devicePermissionHint(node);
  if (errno === EBUSY) hint = `Another process has ${node} open, or ${facts.address} is in use through ${facts.cdev === undefined ? 'the other VFIO path' : `/dev/vfio/devices/${facts.cdev}`}: close it there first.`;
  throw failure(fd, op, `open(${node})`, hint === undefined ? {} : { hint });
}

function deviceInfo(sys: VfioSyscalls, op: string, fd: number): calls.DeviceInfo {
  const info = calls.deviceGetInfo(sys, fd);
  if (typeof info === 'number') throw failure(info, op, 'ioctl(VFIO_DEVICE_GET_INFO)');
  return Object.freeze(info);
}

function openLegacy(sys: VfioSyscalls, op: string, devfs: string, facts: VfioSysfsFacts): OpenedFds {
  const group = facts.group!;
  const opened: number[] = [];
  try {
    const container = openNode(sys, op, join(devfs, 'vfio/vfio'), 'the VFIO container', facts);
    opened.push(container);
    const version = check(calls.getApiVersion(sys, container), op, 'ioctl(VFIO_GET_API_VERSION)');
    if (version !== abi.VFIO_API_VERSION) {
      throw new VirtError('UNSUPPORTED', { operation: op, detail: `the VFIO container reports API version ${version}, not ${abi.VFIO_API_VERSION}`, hint: 'Use a Linux kernel with the stable VFIO API.' });
    }
    if (calls.checkExtension(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU) <= 0) {
      throw new VirtError('UNSUPPORTED', {
        operation: op,
        detail: 'the VFIO container has no type1v2 IOMMU',
        hint: 'Load vfio_iommu_type1 (modprobe vfio_iommu_type1), with the IOMMU enabled.',
      });
    }
    const groupFd = openNode(sys, op, join(devfs, 'vfio', String(group)), `IOMMU group ${group}`, facts);
    opened.push(groupFd);
    const status = check(calls.groupGetStatus(sys, groupFd), op, 'ioctl(VFIO_GROUP_GET_STATUS)');
    if ((status & abi.VFIO_GROUP_FLAGS_VIABLE) === 0) {
      const held = facts.groupDevices.filter((d) => d.driver !== undefined && !isVfioPci(d.driver));
      throw new VirtError('UNAVAILABLE', {
        operation: op,
        detail: `IOMMU group ${group} of ${facts.address} is not viable: ${held.length > 0 ? held.map((d) => `${d.address} is bound to ${d.driver}`).join(', ') : 'a function of the group is bound to a host driver'}`,
        hint: 'Bind every function of the group to vfio-pci, or unbind it from its driver (a PCI bridge of the group may stay with pcieport); the group is isolated only as a whole.',
      });
    }
    check(calls.groupSetContainer(sys, groupFd, container), op, 'ioctl(VFIO_GROUP_SET_CONTAINER)');
    const r = calls.setIommu(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU);
    if (r === -EPERM) {
      throw failure(r, op, 'ioctl(VFIO_SET_IOMMU)', {
        hint: 'The IOMMU has no interrupt remapping: enable it in the firmware, or (accepting that the device can forge MSIs) load vfio_iommu_type1 with allow_unsafe_interrupts=1.',
      });
    }
    check(r, op, 'ioctl(VFIO_SET_IOMMU)');
    const device = check(calls.groupGetDeviceFd(sys, groupFd, facts.address), op, 'ioctl(VFIO_GROUP_GET_DEVICE_FD)');
    opened.push(device);
    const info = deviceInfo(sys, op, device);
    return { path: 'legacy', deviceFd: device, iommuFd: container, groupFd, ioasId: 0, info };
  } catch (e) {
    for (const fd of opened.reverse()) sys.close(fd);
    throw e;
  }
}

function openCdev(sys: VfioSyscalls, op: string, devfs: string, facts: VfioSysfsFacts): OpenedFds {
  const opened: number[] = [];
  try {
    const iommufd = openNode(sys, op, join(devfs, 'iommu'), 'iommufd', facts);
    opened.push(iommufd);
    const ioas = check(calls.ioasAlloc(sys, iommufd), op, 'ioctl(IOMMU_IOAS_ALLOC)');
    const device = openNode(sys, op, join(devfs, 'vfio/devices', facts.cdev!), `the device cdev of ${facts.address}`, facts);
    opened.push(device);
    const bound = calls.bindIommufd(sys, device, iommufd);
    if (bound === -EBUSY) throw failure(bound, op, 'ioctl(VFIO_DEVICE_BIND_IOMMUFD)', { hint: `IOMMU group ${facts.group} is open through /dev/vfio/${facts.group}: close it there first (a group is used through one path at a time).` });
    check(bound, op, 'ioctl(VFIO_DEVICE_BIND_IOMMUFD)');
    check(calls.attachIommufdPt(sys, device, ioas), op, 'ioctl(VFIO_DEVICE_ATTACH_IOMMUFD_PT)');
    const info = deviceInfo(sys, op, device);
    return { path: 'cdev', deviceFd: device, iommuFd: iommufd, groupFd: -1, ioasId: ioas, info };
  } catch (e) {
    for (const fd of opened.reverse()) sys.close(fd);
    throw e;
  }
}
