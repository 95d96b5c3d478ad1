/**
 * The kernels every behaviour test runs on: the VFIO model always, and a real device bound to
 * vfio-pci when `TSVMM_VFIO_DEVICE` names one (`0000:01:00.0`) and /dev/vfio exists. One test body
 * per behaviour, run once per target by {@link describeOnTargets}; where an expectation needs the
 * device side (raise a vector, assert INTx) or the model's own state, the body asks for
 * `env.model` and says why a real device cannot show it.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { type VfioSyscalls, vfioAbi as abi, vfioCalls as calls, vfioSyscalls } from '../../src';
import { VfioKernelModel, type VfioModelOptions } from '../../src/testing';

/** The environment variable naming a real device bound to vfio-pci. */
export const DEVICE_ENV = 'TSVMM_VFIO_DEVICE';

/** One fresh kernel to run a test body on. */
export interface VfioEnv {
  /** The system calls: a new model, or libc. */
  readonly sys: VfioSyscalls;
  /** The model, or undefined on a real device. */
  readonly model: VfioKernelModel | undefined;
  /** The device's PCI name. */
  readonly address: string;
  /** Its IOMMU group number. */
  readonly group: number;
}

/** One kernel the behaviour tests run on. */
export interface VfioTarget {
  /** `VFIO model` or `real device <address>`: in every test title. */
  readonly name: string;
  /** True on the real device. */
  readonly real: boolean;
  /** A fresh environment (a new model with `options` on the model target; the options are ignored on a device). */
  create(options?: VfioModelOptions): VfioEnv;
}

/** A new VFIO model made with `options`, and its first device: the model target's environment, for model-only bodies. */
export function modelEnv(options?: VfioModelOptions): VfioEnv & { readonly model: VfioKernelModel } {
  const model = new VfioKernelModel(options);
  const first = [...model.devices.values()][0]!;
  return { sys: model, model, address: first.address, group: first.group };
}

const MODEL: VfioTarget = { name: 'VFIO model', real: false, create: modelEnv };

/** Why the real-device half is not run here (no VFIO, no device named, or not one behind an IOMMU), or undefined when it is. */
export function deviceAbsence(): string | undefined {
  const address = process.env[DEVICE_ENV];
  if (!existsSync('/dev/vfio')) return '/dev/vfio does not exist on this host: no VFIO driver is loaded (modprobe vfio-pci) or the host has no IOMMU';
  if (!address) return `${DEVICE_ENV} is not set: name a PCI function bound to vfio-pci (e.g. ${DEVICE_ENV}=0000:01:00.0) to run these tests on it`;
  if (!existsSync(`/sys/bus/pci/devices/${address}/iommu_group`)) return `/sys/bus/pci/devices/${address}/iommu_group does not exist: ${address} is not a PCI function behind an IOMMU`;
  return undefined;
}

function realTarget(address: string): VfioTarget {
  const group = Number(basename(readlinkSync(`/sys/bus/pci/devices/${address}/iommu_group`)));
  return {
    name: `real device ${address}`,
    real: true,
    create: () => ({ sys: vfioSyscalls(), model: undefined, address, group }),
  };
}

const reported = new Set<string>();

/** The real-device half of a suite's targets. */
export interface DeviceHalf<T> {
  /** Why it cannot run here, or undefined when it can. */
  readonly absence: string | undefined;
  /** Makes the device target (called only when it can run). */
  target(): T;
  /** The suite in its one `SKIPPED` stderr line, e.g. `VFIO tests`. */
  readonly suite: string;
  /** The title suffix of its skipped half, e.g. `real device`. */
  readonly label: string;
  /** What the skipped test says it needs, e.g. `a device bound to vfio-pci`. */
  readonly needs: string;
}

/**
 * `describe(title)` on `model` always, and on the device target where it can run; else one
 * loudly skipped test saying why, and one `SKIPPED` line on stderr per suite.
 */
export function describeModelAndDevice<T extends { readonly name: string }>(title: string, model: T, device: DeviceHalf<T>, body: (target: T) => void): void {
  describe(`${title} [${model.name}]`, () => body(model));
  if (device.absence === undefined) {
    const t = device.target();
    describe(`${title} [${t.name}]`, () => body(t));
    return;
  }
  if (!reported.has(device.suite)) {
    process.stderr.write(`SKIPPED the real-device half of the ${device.suite}: ${device.absence}\n`);
    reported.add(device.suite);
  }
  describe(`${title} [${device.label}]`, () => it.skip(`needs ${device.needs}: ${device.absence}`, () => undefined));
}

/**
 * `describe(title)` once per target: the model always; the real device when {@link DEVICE_ENV}
 * names one, else one loudly skipped test (and one `SKIPPED` line on stderr) saying why.
 */
export function describeOnTargets(title: string, body: (target: VfioTarget) => void): void {
  const device = { absence: deviceAbsence(), target: () => realTarget(process.env[DEVICE_ENV]!), suite: 'VFIO tests', label: 'real device', needs: 'a device bound to vfio-pci' };
  describeModelAndDevice(title, MODEL, device, body);
}

/** The legacy container/group/device fds of an opened device; `using` closes them at the end of the block. */
export interface Opened extends Disposable {
  /** The container (/dev/vfio/vfio). */
  readonly container: number;
  /** The group (/dev/vfio/<n>). */
  readonly group: number;
  /** The device fd. */
  readonly device: number;
  /** Closes the three, device first. */
  close(): void;
}

/** Returns `r`, failing with the errno when it is negative. */
export function ok(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed with errno ${-r}`);
  return r;
}

/** Opens `env`'s device through the container/group path with the type1v2 IOMMU (docs/interfaces/vfio.md, "Opening a device"). */
export function openLegacy(env: VfioEnv): Opened {
  const { sys } = env;
  const container = ok(sys.open('/dev/vfio/vfio', 2), 'open(/dev/vfio/vfio)');
  const group = ok(sys.open(`/dev/vfio/${env.group}`, 2), `open(/dev/vfio/${env.group})`);
  ok(calls.groupSetContainer(sys, group, container), 'VFIO_GROUP_SET_CONTAINER');
  ok(calls.setIommu(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU), 'VFIO_SET_IOMMU');
  const device = ok(calls.groupGetDeviceFd(sys, group, env.address), 'VFIO_GROUP_GET_DEVICE_FD');
  const close = (): void => {
    sys.close(device);
    sys.close(group);
    sys.close(container);
  };
  return {
    container,
    group,
    device,
    close,
    [Symbol.dispose]: close,
  };
}

/** The region info of `index`, failing on an errno. */
export function region(env: VfioEnv, device: number, index: number): calls.RegionInfo {
  const r = calls.deviceGetRegionInfo(env.sys, device, index);
  if (typeof r === 'number') throw new Error(`VFIO_DEVICE_GET_REGION_INFO(${index}) failed with errno ${-r}`);
  return r;
}

/** Reads `length` bytes of config space at `offset`. */
export function readConfig(env: VfioEnv, device: number, offset: number, length: number): Uint8Array {
  const cfg = region(env, device, abi.VFIO_PCI_REGION.VFIO_PCI_CONFIG_REGION_INDEX);
  const buf = new Uint8Array(length);
  ok(calls.regionRead(env.sys, device, cfg.offset, offset, buf), `pread(config @${offset})`);
  return buf;
}

/** Writes `bytes` to config space at `offset`. */
export function writeConfig(env: VfioEnv, device: number, offset: number, bytes: Uint8Array): void {
  const cfg = region(env, device, abi.VFIO_PCI_REGION.VFIO_PCI_CONFIG_REGION_INDEX);
  ok(calls.regionWrite(env.sys, device, cfg.offset, offset, bytes), `pwrite(config @${offset})`);
}

/** A new eventfd of `env` (close-on-exec, non-blocking as the model's are). */
export function eventfd(env: VfioEnv): number {
  return ok(env.sys.eventfd(0, 0x800), 'eventfd');
}

/** Reads and clears an eventfd's counter: 0n when nothing was signalled (EAGAIN). */
export function take(env: VfioEnv, fd: number): bigint {
  const buf = new Uint8Array(8);
  const r = env.sys.read(fd, buf, 8);
  if (r === -11) return 0n;
  ok(r, 'read(eventfd)');
  return new DataView(buf.buffer).getBigUint64(0, true);
}
