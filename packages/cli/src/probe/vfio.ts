/**
 * What this host offers for VFIO device assignment, read from sysfs and devfs without changing
 * anything: the container and its API version, the IOMMU groups, the PCI functions bound to
 * vfio-pci (read with `readVfioSysfs` of `@tsvmm/vfio`), iommufd and the device cdevs, and the
 * no-IOMMU mode. Never throws; every listing is bounded. Facts from docs/interfaces/vfio.md, "Opening a device".
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type * as Vfio from '@tsvmm/vfio';
import type * as LinuxSys from '@tsvmm/linux-sys';

/** At most this many IOMMU groups and vfio-pci functions are listed; the rest are counted. */
export const VFIO_LIST_LIMIT = 64;

/** A function of an IOMMU group. */
export interface VfioGroupMember {
  /** Its PCI name, `dddd:bb:dd.f`. */
  readonly address: string;
  /** The driver bound to it, or null when none is. */
  readonly driver: string | null;
}

/** `/dev/vfio/vfio`, the legacy VFIO container. */
export interface VfioContainerReport {
  /** Whether the node exists. */
  readonly present: boolean;
  /** VFIO_GET_API_VERSION (0 on every kernel with the stable API); null when the container could not be opened. */
  readonly apiVersion: number | null;
  /** VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU) > 0; null when the container could not be opened. */
  readonly type1v2: boolean | null;
}

/** An IOMMU group, as `/sys/kernel/iommu_groups/<n>/devices` lists it. */
export interface VfioGroupReport {
  /** The group number (`/dev/vfio/<n>`). */
  readonly group: number;
  /** Its functions (PCI names), each with its driver (null when none is bound). */
  readonly devices: readonly VfioGroupMember[];
  /**
   * Whether VFIO could use the group: every function bound to vfio-pci (or a vfio-pci variant
   * driver), to pcieport (a bridge), or to no driver. A group VFIO cannot use is listed too.
   */
  readonly viable: boolean;
}

/** A PCI function bound to vfio-pci. */
export interface VfioPciFunctionReport {
  /** Its PCI name, `dddd:bb:dd.f`. */
  readonly address: string;
  /** Its IOMMU group, or null when it has none (no IOMMU). */
  readonly group: number | null;
  /** Its device cdev (`vfio3`, for `/dev/vfio/devices/vfio3`), or null when the kernel made none. */
  readonly cdev: string | null;
  /** The other functions of its group bound to a driver that makes the group not viable (`0000:01:00.1 (snd_hda_intel)`). */
  readonly blockers: readonly string[];
  /** Whether this user may open `/dev/vfio/<group>` read-write; null when the node does not exist. */
  readonly groupAccess: boolean | null;
}

/** Something VFIO needs that is missing or refused here: what, why, and what to do. */
export interface VfioProblem {
  /** What is missing, e.g. `/dev/vfio/vfio`. */
  readonly what: string;
  /** Why, as a sentence. */
  readonly reason: string;
  /** What to do about it. */
  readonly hint: string;
}

/** The `vfio` section of `tsvmm probe --json` (`schemas/probe.schema.json`). */
export interface VfioReport {
  /** True when a function bound to vfio-pci is in a viable group whose node this user may open. */
  readonly ready: boolean;
  /** `/dev/vfio/vfio`: whether it exists, and when it opens, its API version (0) and whether it offers the type1v2 IOMMU. */
  readonly container: VfioContainerReport;
  /** The IOMMU groups (the first {@link VFIO_LIST_LIMIT}); none when the IOMMU is off. */
  readonly groups: readonly VfioGroupReport[];
  /** How many groups there are in all. */
  readonly groupCount: number;
  /** The functions bound to vfio-pci (the first {@link VFIO_LIST_LIMIT}). */
  readonly vfioPci: readonly VfioPciFunctionReport[];
  /** How many functions are bound to vfio-pci in all. */
  readonly vfioPciCount: number;
  /** Whether `/dev/iommu` (iommufd, Linux 6.2) exists. */
  readonly iommufd: boolean;
  /** Whether `/dev/vfio/devices` (VFIO device cdevs, Linux 6.6) exists. */
  readonly cdevs: boolean;
  /** `vfio.enable_unsafe_noiommu_mode`: true or false, null when the vfio module does not say (not loaded, or no such option). */
  readonly noIommuMode: boolean | null;
  /** What is missing, each with the reason and what to do; empty when nothing is. */
  readonly problems: readonly VfioProblem[];
}

/** Where {@link probeVfio} looks; tests point both at a fake tree. */
export interface VfioProbeOptions {
  /** Where sysfs is mounted (default `/sys`). */
  readonly sysfs?: string;
  /** The device directory (default `/dev`). */
  readonly devfs?: string;
  /** The system calls the container is opened and asked through (default: the vfio package's libc calls). */
  readonly sys?: Vfio.VfioSyscalls;
}

const PCI_NAME = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

function isVfioPci(driver: string | null | undefined): boolean {
  return driver != null && /(^|[-_])vfio[-_]pci$/.test(driver);
}

function linkName(path: string): string | null {
  try {
    return basename(readlinkSync(path));
  } catch {
    return null;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readWritable(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK | fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const IOMMU_HINT =
  'Enable the IOMMU: VT-d or AMD-Vi in the firmware, and intel_iommu=on (Intel) or amd_iommu=on (AMD) on the kernel command line, then reboot.';
const BIND_HINT =
  'Bind the function to vfio-pci (as root): modprobe vfio-pci; echo <address> > /sys/bus/pci/devices/<address>/driver/unbind; ' +
  'echo vfio-pci > /sys/bus/pci/devices/<address>/driver_override; echo <address> > /sys/bus/pci/drivers_probe.';

/** The packages the probe needs, loaded on first use (optional dependencies: absent off Linux x86-64). */
function load(): { vfio: typeof Vfio; linux: typeof LinuxSys } | string {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `VFIO needs Linux on x86-64, not ${process.platform} ${process.arch}.`;
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    return { vfio: require('@tsvmm/vfio') as typeof Vfio, linux: require('@tsvmm/linux-sys') as typeof LinuxSys };
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (e) {
    return `@tsvmm/vfio could not be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
}

/**
 * Probes VFIO on this host (or under `options.sysfs` / `options.devfs`). Opens `/dev/vfio/vfio`
 * only to ask its API version and extensions (VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION), then
 * closes it; opens no group or device. Never throws: what cannot be read is reported as missing,
 * with the reason.
 */
export function probeVfio(options: VfioProbeOptions = {}): VfioReport {
  const sysfs = options.sysfs ?? '/sys';
  const devfs = options.devfs ?? '/dev';
  const problems: VfioProblem[] = [];
  const loaded = load();
  const empty: VfioReport = {
    ready: false,
    container: { present: false, apiVersion: null, type1v2: null },
    groups: [],
    groupCount: 0,
    vfioPci: [],
    vfioPciCount: 0,
    iommufd: false,
    cdevs: false,
    noIommuMode: null,
    problems,
  };
  if (typeof loaded === 'string') {
    problems.push({ what: '@tsvmm/vfio', reason: loaded, hint: 'Use a Linux x86-64 host; npm installs @tsvmm/vfio there with tsvmm.' });
    return empty;
  }
  try {
    return probeWith(loaded, sysfs, devfs, options.sys, problems);
  } catch (e) {
    problems.push({ what: 'VFIO', reason: `the probe failed: ${(e as Error).message}`, hint: 'Report this with the output of tsvmm probe --json.' });
    return empty;
  }
}

function probeWith(
  { vfio, linux }: { vfio: typeof Vfio; linux: typeof LinuxSys },
  sysfs: string,
  devfs: string,
  sysOption: Vfio.VfioSyscalls | undefined,
  problems: VfioProblem[],
): VfioReport {
  const op = 'tsvmm probe';
  const containerNode = join(devfs, 'vfio/vfio');
  const container = { present: existsSync(containerNode), apiVersion: null as number | null, type1v2: null as boolean | null };
  if (!container.present) {
    problems.push({
      what: containerNode,
      reason: `${containerNode} does not exist: the VFIO driver is not loaded`,
      hint: 'Load it: modprobe vfio-pci (it loads vfio and vfio_iommu_type1).',
    });
  } else {
    const sys = sysOption ?? vfio.vfioSyscalls();
    const fd = sys.open(containerNode, linux.O_RDWR);
    if (fd < 0) {
      const errno = -fd;
      const hint = errno === linux.EACCES || errno === linux.EPERM ? linux.devicePermissionHint(containerNode) : 'Check that vfio is loaded (lsmod | grep vfio).';
      const error = linux.failure(fd, op, `open(${containerNode})`, { hint });
      problems.push({ what: containerNode, reason: `${error.code}: ${error.message}`, hint });
    } else {
      try {
        const version = vfio.vfioCalls.getApiVersion(sys, fd);
        container.apiVersion = version >= 0 ? version : null;
        container.type1v2 = vfio.vfioCalls.checkExtension(sys, fd, vfio.vfioAbi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU) > 0;
      } finally {
        sys.close(fd);
      }
      if (container.apiVersion !== vfio.vfioAbi.VFIO_API_VERSION) {
        problems.push({
          what: 'VFIO API version',
          reason: `the container reports API version ${container.apiVersion ?? 'unknown'}, not ${vfio.vfioAbi.VFIO_API_VERSION}`,
          hint: 'Use a Linux kernel with the stable VFIO API.',
        });
      }
      if (container.type1v2 === false) {
        problems.push({ what: 'type1v2 IOMMU', reason: 'the VFIO container offers no type1v2 IOMMU', hint: `Load vfio_iommu_type1 (modprobe vfio_iommu_type1). ${IOMMU_HINT}` });
      }
    }
  }

  const groupNames = list(join(sysfs, 'kernel/iommu_groups'))
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  const groups: VfioGroupReport[] = groupNames.slice(0, VFIO_LIST_LIMIT).map((group) => {
    const devices = list(join(sysfs, 'kernel/iommu_groups', String(group), 'devices'))
      .sort()
      .slice(0, VFIO_LIST_LIMIT)
      .map((address) => ({ address, driver: linkName(join(sysfs, 'bus/pci/devices', address, 'driver')) }));
    return { group, devices, viable: devices.every((d) => d.driver === null || d.driver === 'pcieport' || isVfioPci(d.driver)) };
  });
  if (groupNames.length === 0) {
    problems.push({ what: 'IOMMU groups', reason: `${join(sysfs, 'kernel/iommu_groups')} lists no group: the IOMMU is off`, hint: IOMMU_HINT });
  }

  const bound = list(join(sysfs, 'bus/pci/drivers/vfio-pci'))
    .filter((n) => PCI_NAME.test(n))
    .sort();
  const vfioPci: VfioPciFunctionReport[] = [];
  for (const address of bound.slice(0, VFIO_LIST_LIMIT)) {
    let facts: Vfio.VfioSysfsFacts;
    try {
      facts = vfio.readVfioSysfs(address, sysfs, op);
    } catch (e) {
      problems.push({ what: address, reason: (e as Error).message, hint: 'Check the address with lspci -D.' });
      continue;
    }
    const blockers = facts.groupDevices.filter((d) => d.driver !== undefined && d.driver !== 'pcieport' && !isVfioPci(d.driver)).map((d) => `${d.address} (${d.driver})`);
    const node = facts.group === undefined ? undefined : join(devfs, 'vfio', String(facts.group));
    const groupAccess = node === undefined || !existsSync(node) ? null : readWritable(node);
    vfioPci.push({ address, group: facts.group ?? null, cdev: facts.cdev ?? null, blockers, groupAccess });
    if (facts.group === undefined) {
      problems.push({ what: address, reason: `${address} has no IOMMU group: the host has no IOMMU enabled`, hint: IOMMU_HINT });
    } else if (blockers.length > 0) {
      problems.push({
        what: address,
        reason: `IOMMU group ${facts.group} of ${address} is not viable: ${blockers.join(', ')} ${blockers.length === 1 ? 'is' : 'are'} bound to a host driver`,
        hint: 'Bind every function of the group to vfio-pci, or unbind it from its driver (a PCI bridge of the group may stay with pcieport); the group is isolated only as a whole.',
      });
    } else if (groupAccess === null) {
      problems.push({ what: node!, reason: `${node} does not exist`, hint: 'Load the VFIO driver (modprobe vfio-pci); the group node appears once every function of the group is bound to vfio-pci or to no driver.' });
    } else if (!groupAccess) {
      problems.push({ what: node!, reason: `this user may not open ${node} read-write`, hint: linux.devicePermissionHint(node!) });
    }
  }
  if (bound.length === 0) {
    problems.push({ what: 'vfio-pci', reason: `no PCI function is bound to vfio-pci (${join(sysfs, 'bus/pci/drivers/vfio-pci')})`, hint: BIND_HINT });
  }

  const iommufd = existsSync(join(devfs, 'iommu'));
  const cdevs = existsSync(join(devfs, 'vfio/devices'));
  let noIommuMode: boolean | null = null;
  try {
    const value = readFileSync(join(sysfs, 'module/vfio/parameters/enable_unsafe_noiommu_mode'), 'utf8').trim();
    noIommuMode = value === 'Y' || value === '1';
  } catch {
    noIommuMode = null;
  }
  if (noIommuMode === true) {
    problems.push({
      what: 'no-IOMMU mode',
      reason: 'vfio.enable_unsafe_noiommu_mode is on: devices without an IOMMU get /dev/vfio/noiommu-<n> groups with no DMA translation and no isolation',
      hint: 'tsvmm does not use no-IOMMU groups (a device could read and write all host memory); enable the IOMMU instead and turn the option off.',
    });
  }
  const ready = vfioPci.some((f) => f.group !== null && f.blockers.length === 0 && f.groupAccess === true) && container.apiVersion === vfio.vfioAbi.VFIO_API_VERSION;
  return { ready, container, groups, groupCount: groupNames.length, vfioPci, vfioPciCount: bound.length, iommufd, cdevs, noIommuMode, problems };
}
