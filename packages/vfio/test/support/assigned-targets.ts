/**
 * The kernels the assigned-device bodies run on. One body per behaviour, run on:
 * - the model: the VFIO model (`VfioKernelModel`) for the device and the KVM model
 *   (`KvmKernelModel`) for the partition, joined as one process would join them: the eventfd a
 *   route hands out is what vfio-pci signals (`VfioModelBridge`); every VFIO and KVM call
 *   is logged so bodies can assert the exact sequence;
 * - a real device bound to vfio-pci (`TSVMM_VFIO_DEVICE`) with a real /dev/kvm: device raises are
 *   then the kernel loopback (SET_IRQS DATA_BOOL + TRIGGER signals the bound eventfd), and call
 *   logs are absent. Skipped loudly where either is missing.
 */
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { IoctlDef, Syscalls } from '@tsvmm/linux-sys';
import type { IoApicAccess, LocalApicAccess, Partition } from '@tsvmm/virt';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { AssignedPciDevice, type AssignedPciDeviceOptions, VfioDevice, vfioAbi as abi, vfioCalls as calls, vfioSyscalls } from '../../src';
import { VfioKernelModel, VfioModelBridge, type VfioModelOptions } from '../../src/testing';
import { IntxGuest, type IntxGuestHooks } from './intx-guest';
import { DEVICE_ENV, describeModelAndDevice, deviceAbsence } from './targets';

type Vm = Partition & LocalApicAccess & IoApicAccess;

/** A Syscalls that logs the KVM interrupt calls (`KVM_IRQFD assign gsi=N`, `KVM_SET_GSI_ROUTING n=K`) and forwards everything. */
function recordingKvm(model: KvmKernelModel, log: string[]): Syscalls {
  return new Proxy(model, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'ioctl' || typeof value !== 'function') return typeof value === 'function' ? ((value as (...a: unknown[]) => unknown).bind(target) as unknown) : value;
      return (fd: number, request: IoctlDef, arg?: number | Uint8Array) => {
        if (request.name === 'KVM_IRQFD' && arg instanceof Uint8Array) {
          const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
          const flags = v.getUint32(8, true);
          log.push(`KVM_IRQFD ${flags & 1 ? 'deassign' : 'assign'} gsi=${v.getUint32(4, true)}${flags & 2 ? ' resample' : ''}`);
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
  readonly model: { readonly vfio: VfioKernelModel; readonly kvm: KvmKernelModel; readonly bridge: VfioModelBridge; readonly kvmLog: string[] } | undefined;
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
  /**
   * INTx: the device's INTx condition, and the guest's end of a line (`guest(gsi)`: the partition's
   * IOAPIC pin, the destination's local APIC, the EOI where a model can play it).
   */
  readonly intx: {
    /** The device asserts INTx (model: its condition, held until `deassert`; real: the vfio loopback, one signal of the trigger). */
    assert(): void;
    /** The device stops asserting (model only: on a real device only its driver's action does that). */
    deassert(): void;
    /** The guest's end of the line on IOAPIC pin `gsi`, programmed. */
    guest(gsi: number): IntxGuest;
  };
}

/** One platform the bodies run on. */
export interface AssignedTarget {
  /** In every test title. */
  readonly name: string;
  /** True on real hardware. */
  readonly real: boolean;
  /** A fresh device and partition (model options ignored on real hardware). */
  create(options?: VfioModelOptions): AssignedEnv;
  /** Why the guest's EOI (and a device deassertion) cannot be played on this target, or undefined when they can. */
  readonly intxAbsence: string | undefined;
}

/**
 * `env`'s device assigned to its partition, every error it reports to the VMM pushed onto `errors`
 * (bodies end by expecting it empty); `options` adds to or overrides those.
 */
export function assign(env: AssignedEnv, errors: unknown[] = [], options: Partial<AssignedPciDeviceOptions> = {}): AssignedPciDevice {
  return AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: (e) => errors.push(e), ...options });
}

function irrOf(vm: Vm): string[] {
  const out: string[] = [];
  for (let c = 0; c < vm.vcpuCount; c++) for (const vec of vm.readLocalApic(c).irr) out.push(`${c}:${vec}`);
  return out.sort();
}

const MODEL: AssignedTarget = {
  name: 'VFIO model + KVM model',
  real: false,
  intxAbsence: undefined,
  create(options?: VfioModelOptions): AssignedEnv {
    const vfio = new VfioKernelModel(options);
    const kvm = new KvmKernelModel({ apicIds: [0, 1] });
    const kvmLog: string[] = [];
    const vm = KvmPartition.create({ vcpus: 2, sys: recordingKvm(kvm, kvmLog), irqfd: 'kernel' });
    const bridge = new VfioModelBridge(vfio, kvm);
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
    // The guest's EOI through the partition: KvmPartition offers GuestEoiAccess on the KVM model.
    const eoi = vm.guestEoi();
    if (!eoi) throw new Error('KvmPartition on the KVM model offers no guestEoi()');
    const hooks: IntxGuestHooks = {
      eoi,
      eoiAbsence: undefined,
      accepted: (vcpu) => kvm.bus.apics.find((a) => a.apicId === vcpu)!.accepted,
      pump: () => bridge.pump(),
    };
    return {
      intx: { assert: () => void bridge.assertIntx(), deassert: () => vfio.deassertIntx(), guest: (gsi) => new IntxGuest(vm, hooks, gsi).program() },
      device,
      vm,
      model: { vfio, kvm, bridge, kvmLog },
      raiseMsix: (v) => void bridge.raiseMsix(v),
      raiseMsi: (v) => void bridge.raiseMsi(v),
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

const REAL_INTX_ABSENCE =
  'no guest code runs on this KVM, so nothing EOIs the vector the IOAPIC delivered (KvmPartition.guestEoi() is undefined on a real kernel), and only the device ' +
  'decides when it asserts or deasserts INTx (the vfio loopback signals the trigger once, without the automask)';

function realTarget(address: string): AssignedTarget {
  return {
    name: `real device ${address} + /dev/kvm (group ${basename(readlinkSync(`/sys/bus/pci/devices/${address}/iommu_group`))})`,
    real: true,
    intxAbsence: REAL_INTX_ABSENCE,
    create(): AssignedEnv {
      const vm = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
      const device = VfioDevice.open({ address });
      const loop = (index: number, v: number) => {
        calls.setIrqs(vfioSyscalls(), device.deviceFd, index, 'trigger', v, { bools: [true] });
      };
      const eoi = vm.guestEoi();
      const hooks: IntxGuestHooks = { eoi, eoiAbsence: eoi ? undefined : REAL_INTX_ABSENCE, accepted: undefined, pump: () => undefined };
      return {
        device,
        vm,
        model: undefined,
        raiseMsix: (v) => loop(abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX, v),
        raiseMsi: (v) => loop(abi.VFIO_PCI_IRQ.VFIO_PCI_MSI_IRQ_INDEX, v),
        accepted: () => undefined,
        intx: {
          assert: () => loop(abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX, 0),
          deassert: () => {
            throw new Error(`a real device's INTx condition is its own: ${REAL_INTX_ABSENCE}`);
          },
          guest: (gsi) => new IntxGuest(vm, hooks, gsi).program(),
        },
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

/** `describe(title)` on the model always, and on a real device + /dev/kvm where both exist (else one loud skip). */
export function describeAssignedTargets(title: string, body: (target: AssignedTarget) => void): void {
  const device = {
    absence: existsSync('/dev/kvm') ? deviceAbsence() : '/dev/kvm does not exist on this host',
    target: () => realTarget(process.env[DEVICE_ENV]!),
    suite: 'assigned-device tests',
    label: 'real device + /dev/kvm',
    needs: 'a device bound to vfio-pci and /dev/kvm',
  };
  describeModelAndDevice(title, MODEL, device, body);
}
