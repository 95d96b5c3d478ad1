/**
 * The kernels the assigned-device bodies run on. One body per behaviour, run on:
 * - the model: the VFIO model (`VfioKernelModel`) for the device and the KVM model
 *   (`KvmKernelModel`) for the partition, joined as one process would join them: the eventfd a
 *   route hands out is what vfio-pci signals (see {@link EventfdBridge}); every VFIO and KVM call
 *   is logged so bodies can assert the exact sequence;
 * - a real device bound to vfio-pci (`TSVMM_VFIO_DEVICE`) with a real /dev/kvm: device raises are
 *   then the kernel loopback (SET_IRQS DATA_BOOL + TRIGGER signals the bound eventfd), and call
 *   logs are absent. Skipped loudly where either is missing.
 */
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { IoctlDef, Syscalls } from '@tsvmm/linux-sys';
import { type ModelEventFd, isEventFd } from '@tsvmm/linux-sys/testing';
import type { LocalApicAccess, Partition } from '@tsvmm/virt';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { VfioDevice, type VfioSyscalls, vfioAbi as abi, vfioCalls as calls, vfioSyscalls } from '../../src';
import { VfioKernelModel, type VfioModelOptions } from '../../src/testing';
import { DEVICE_ENV } from './targets';

type Vm = Partition & LocalApicAccess;

/**
 * The one process both kernel models stand for: eventfds live in the KVM model's table (the
 * partition makes them); vfio-pci is the VFIO model. A SET_IRQS that names a KVM-table eventfd is
 * given a stand-in eventfd of the VFIO model for the same open file (one per file, whatever
 * number names it), and {@link pump} moves what vfio-pci signalled on a stand-in into the real
 * eventfd with an eventfd write, which is what the kernel's `eventfd_signal` on a shared file
 * amounts to. Bodies call pump after each device-side action.
 */
export class EventfdBridge implements VfioSyscalls {
  /** VFIO calls in order: `SET_IRQS MSIX start=0 [7,-1]`, `DEVICE_RESET`, `MAP_DMA`... (region access not included). */
  readonly vfioLog: string[] = [];
  private readonly standIns = new Map<ModelEventFd, { vfioFd: number; kvmFd: number }>();

  constructor(
    readonly vfio: VfioKernelModel,
    readonly kvm: KvmKernelModel,
  ) {}

  private standIn(kvmFd: number): number {
    const o = this.kvm.files.get(kvmFd);
    if (!isEventFd(o)) return 0x3fff_ffff; // not an eventfd in this process: vfio answers EBADF
    let s = this.standIns.get(o);
    if (!s) {
      s = { vfioFd: this.vfio.eventfd(0, 0), kvmFd };
      this.standIns.set(o, s);
    }
    return s.vfioFd;
  }

  /** Moves every count vfio-pci added to a stand-in into the real eventfd. */
  pump(): void {
    const buf = new Uint8Array(8);
    for (const [file, s] of this.standIns) {
      if ((this.vfio.eventfdCount(s.vfioFd) ?? 0n) === 0n) continue;
      this.vfio.read(s.vfioFd, buf, 8);
      if (this.kvm.files.get(s.kvmFd) === file) this.kvm.write(s.kvmFd, buf, 8);
    }
  }

  /** Whether vfio-pci's trigger of `index` vector `vector` is the eventfd `kvmFd` names. */
  isTrigger(kvmFd: number, index: 'msi' | 'msix', vector: number): boolean {
    const o = this.kvm.files.get(kvmFd);
    const s = isEventFd(o) ? this.standIns.get(o) : undefined;
    return s !== undefined && this.vfio.isTrigger(s.vfioFd, index, vector);
  }

  /** Closes the stand-ins. */
  dispose(): void {
    for (const s of this.standIns.values()) this.vfio.close(s.vfioFd);
    this.standIns.clear();
  }

  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    let a = arg;
    if (request.name === 'VFIO_DEVICE_SET_IRQS' && arg instanceof Uint8Array && arg.length >= 20) {
      const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
      const flags = v.getUint32(4, true);
      const index = ['INTX', 'MSI', 'MSIX', 'ERR', 'REQ'][v.getUint32(8, true)] ?? String(v.getUint32(8, true));
      const start = v.getUint32(12, true);
      const count = v.getUint32(16, true);
      if (flags & abi.VFIO_IRQ_SET_DATA_EVENTFD) {
        const fds = Array.from({ length: count }, (_, i) => v.getInt32(20 + 4 * i, true));
        this.vfioLog.push(`SET_IRQS ${index} start=${start} [${fds.join(',')}]`);
        a = arg.slice();
        const w = new DataView(a.buffer);
        fds.forEach((f, i) => w.setInt32(20 + 4 * i, f < 0 ? f : this.standIn(f), true));
      } else {
        this.vfioLog.push(`SET_IRQS ${index} start=${start} ${flags & abi.VFIO_IRQ_SET_DATA_NONE ? `none count=${count}` : `bool count=${count}`}`);
      }
    } else if (!/GET_INFO|GET_REGION_INFO|GET_IRQ_INFO|GET_STATUS|GET_API_VERSION|CHECK_EXTENSION/.test(request.name)) {
      this.vfioLog.push(request.name.replace(/^VFIO_/, ''));
    }
    const r = this.vfio.ioctl(fd, request, a);
    return r;
  }

  open(path: string, flags: number): number {
    return this.vfio.open(path, flags);
  }
  close(fd: number): number {
    return this.vfio.close(fd);
  }
  read(fd: number, buf: Uint8Array, length: number): number {
    return this.vfio.read(fd, buf, length);
  }
  write(fd: number, buf: Uint8Array, length: number): number {
    return this.vfio.write(fd, buf, length);
  }
  eventfd(initval: number, flags: number): number {
    return this.vfio.eventfd(initval, flags);
  }
  poll(): number {
    return this.vfio.poll();
  }
  epollCreate(): number {
    return this.vfio.epollCreate();
  }
  epollCtl(): number {
    return this.vfio.epollCtl();
  }
  epollWait(): number {
    return this.vfio.epollWait();
  }
  dup(fd: number): number {
    return this.vfio.dup(fd);
  }
  sameFile(a: number, b: number): number {
    return this.vfio.sameFile(a, b);
  }
  descriptorBudget(): ReturnType<VfioKernelModel['descriptorBudget']> {
    return this.vfio.descriptorBudget();
  }
  pread(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pread(fd, buf, length, offset);
  }
  pwrite(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pwrite(fd, buf, length, offset);
  }
}

/** A Syscalls that logs the KVM interrupt calls (`KVM_IRQFD assign gsi=N`, `KVM_SET_GSI_ROUTING n=K`) and forwards everything. */
function recordingKvm(model: KvmKernelModel, log: string[]): Syscalls {
  return new Proxy(model, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'ioctl' || typeof value !== 'function') return typeof value === 'function' ? ((value as (...a: unknown[]) => unknown).bind(target) as unknown) : value;
      return (fd: number, request: IoctlDef, arg?: number | Uint8Array) => {
        if (request.name === 'KVM_IRQFD' && arg instanceof Uint8Array) {
          const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
          log.push(`KVM_IRQFD ${v.getUint32(8, true) & 1 ? 'deassign' : 'assign'} gsi=${v.getUint32(4, true)}`);
        } else if (request.name === 'KVM_SET_GSI_ROUTING' && arg instanceof Uint8Array) {
          log.push(`KVM_SET_GSI_ROUTING n=${new DataView(arg.buffer, arg.byteOffset, arg.byteLength).getUint32(0, true)}`);
        }
        return model.ioctl(fd, request, arg);
      };
    },
  });
}

/** One assigned device, its partition and the device side. */
export interface AssignedEnv extends Disposable {
  /** The open VFIO device. */
  readonly device: VfioDevice;
  /** The 2-vCPU partition (APIC IDs 0 and 1). */
  readonly vm: Vm;
  /** The models and the bridge, or undefined on real hardware. */
  readonly model: { readonly vfio: VfioKernelModel; readonly kvm: KvmKernelModel; readonly bridge: EventfdBridge; readonly kvmLog: string[] } | undefined;
  /** The device raises MSI-X vector `v` (model: its device side; real: the vfio loopback). */
  raiseMsix(v: number): void;
  /** The device raises MSI vector `v`. */
  raiseMsi(v: number): void;
  /** Interrupts the local APICs accepted so far (model only; undefined on real KVM). */
  accepted(): number | undefined;
  /** The IRR bits set now, as `vcpu:vector`, sorted. */
  irr(): string[];
  /** Clears the IRRs (the guest took and EOI'd every interrupt). */
  ack(): void;
}

/** One platform the bodies run on. */
export interface AssignedTarget {
  /** In every test title. */
  readonly name: string;
  /** True on real hardware. */
  readonly real: boolean;
  /** A fresh device and partition (model options ignored on real hardware). */
  create(options?: VfioModelOptions): AssignedEnv;
}

function irrOf(vm: Vm): string[] {
  const out: string[] = [];
  for (let c = 0; c < vm.vcpuCount; c++) for (const vec of vm.readLocalApic(c).irr) out.push(`${c}:${vec}`);
  return out.sort();
}

const MODEL: AssignedTarget = {
  name: 'VFIO model + KVM model',
  real: false,
  create(options?: VfioModelOptions): AssignedEnv {
    const vfio = new VfioKernelModel(options);
    const kvm = new KvmKernelModel({ apicIds: [0, 1] });
    const kvmLog: string[] = [];
    const vm = KvmPartition.create({ vcpus: 2, sys: recordingKvm(kvm, kvmLog), irqfd: 'kernel' });
    const bridge = new EventfdBridge(vfio, kvm);
    const sysfs = mkdtempSync(join(tmpdir(), 'tsvmm-assigned-sysfs-'));
    const first = [...vfio.devices.values()][0]!;
    let device: VfioDevice;
    try {
      vfio.writeSysfs(sysfs);
      device = VfioDevice.open({ address: first.address, sys: bridge, sysfs });
    } finally {
      rmSync(sysfs, { recursive: true, force: true });
    }
    bridge.vfioLog.length = 0;
    kvmLog.length = 0;
    return {
      device,
      vm,
      model: { vfio, kvm, bridge, kvmLog },
      raiseMsix(v) {
        vfio.raiseMsix(v);
        bridge.pump();
      },
      raiseMsi(v) {
        vfio.raiseMsi(v);
        bridge.pump();
      },
      accepted: () => kvm.bus.apics.reduce((n, a) => n + a.accepted, 0),
      irr: () => irrOf(vm),
      ack() {
        for (const a of kvm.bus.apics) a.irr.fill(0);
      },
      [Symbol.dispose]() {
        device.dispose();
        bridge.dispose();
        vm.dispose();
      },
    };
  },
};

function realAbsence(): string | undefined {
  if (!existsSync('/dev/kvm')) return '/dev/kvm does not exist on this host';
  if (!existsSync('/dev/vfio')) return '/dev/vfio does not exist on this host: no VFIO driver is loaded (modprobe vfio-pci) or the host has no IOMMU';
  const address = process.env[DEVICE_ENV];
  if (!address) return `${DEVICE_ENV} is not set: name a PCI function bound to vfio-pci (e.g. ${DEVICE_ENV}=0000:01:00.0)`;
  if (!existsSync(`/sys/bus/pci/devices/${address}/iommu_group`)) return `${address} is not a PCI function behind an IOMMU`;
  return undefined;
}

function realTarget(address: string): AssignedTarget {
  return {
    name: `real device ${address} + /dev/kvm (group ${basename(readlinkSync(`/sys/bus/pci/devices/${address}/iommu_group`))})`,
    real: true,
    create(): AssignedEnv {
      const vm = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
      const device = VfioDevice.open({ address });
      const loop = (index: number, v: number) => {
        calls.setIrqs(vfioSyscalls(), device.deviceFd, index, 'trigger', v, { bools: [true] });
      };
      return {
        device,
        vm,
        model: undefined,
        raiseMsix: (v) => loop(abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX, v),
        raiseMsi: (v) => loop(abi.VFIO_PCI_IRQ.VFIO_PCI_MSI_IRQ_INDEX, v),
        accepted: () => undefined,
        irr: () => irrOf(vm),
        ack() {
          // Real KVM's IRR clears only when the guest runs; bodies read it before and after.
        },
        [Symbol.dispose]() {
          device.dispose();
          vm.dispose();
        },
      };
    },
  };
}

let reported = false;

/** `describe(title)` on the model always, and on a real device + /dev/kvm where both exist (else one loud skip). */
export function describeAssignedTargets(title: string, body: (target: AssignedTarget) => void): void {
  describe(`${title} [${MODEL.name}]`, () => body(MODEL));
  const why = realAbsence();
  if (why === undefined) {
    const t = realTarget(process.env[DEVICE_ENV]!);
    describe(`${title} [${t.name}]`, () => body(t));
    return;
  }
  if (!reported) {
    process.stderr.write(`SKIPPED the real-device half of the assigned-device tests: ${why}\n`);
    reported = true;
  }
  describe(`${title} [real device + /dev/kvm]`, () => it.skip(`needs a device bound to vfio-pci and /dev/kvm: ${why}`, () => undefined));
}
