/**
 * The device and partition of the demo's passthrough scene. By default the VFIO kernel model's
 * device (`@tsvmm/vfio/testing`) assigned to a 2-vCPU `KvmPartition` on the KVM model, the two
 * joined by `VfioModelBridge` so that the eventfd vfio-pci signals is the route's own; with
 * `TSVMM_VFIO_DEVICE=<dddd:bb:dd.f>`, that PCI function bound to vfio-pci, opened through
 * `VfioDevice.open` and assigned to a partition on /dev/kvm.
 */
import type { Disposable, LocalApicAccess, Partition } from '@tsvmm/virt';
import type * as Vfio from '@tsvmm/vfio';
import type * as VfioTesting from '@tsvmm/vfio/testing';
import type * as VirtKvmTesting from '@tsvmm/virt-kvm/testing';
import { rmSync } from 'node:fs';
import { kvmPackages } from '../bench/sections/kvm-access';
import { settleFor } from '../backends/settle';
import { TempUnavailable, makeTempDirectory } from '../output/temp';

/** The environment variable that names a real PCI function (bound to vfio-pci) for the scene. */
export const VFIO_DEVICE_ENV = 'TSVMM_VFIO_DEVICE';

/**
 * The form `TSVMM_VFIO_DEVICE` must have: a PCI function's name as sysfs spells it, dddd:bb:dd.f in
 * lower-case hex (device 00-1f, function 0-7), what `VfioDevice.open` of `@tsvmm/vfio` accepts.
 */
export const PCI_FUNCTION_NAME = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

/**
 * Why `env[TSVMM_VFIO_DEVICE]` is malformed, or undefined when it is unset, empty or a PCI function
 * name: a malformed value is the caller's mistake, said before anything is opened.
 */
export function malformedVfioDevice(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = env[VFIO_DEVICE_ENV];
  if (value === undefined || value === '' || PCI_FUNCTION_NAME.test(value)) return undefined;
  return `${VFIO_DEVICE_ENV} must name a PCI function as dddd:bb:dd.f in lower-case hex (e.g. 0000:01:00.0), got '${value}'`;
}

/** The model device's PCI name and IOMMU group. */
const MODEL_ADDRESS = '0000:01:00.0';
const MODEL_GROUP = 7;

/** An opened device and a 2-vCPU partition with an irqfd to assign it to. */
export interface PassthroughHost extends Disposable {
  /** The partition: 2 vCPUs with an irqfd whose route events are eventfds vfio-pci can signal. */
  readonly partition: Partition & LocalApicAccess;
  /** The device, open through VFIO; disposed with the host. */
  readonly device: Vfio.VfioDevice;
  /** `device` (a real function on /dev/kvm) or `model` (the VFIO and KVM models). */
  readonly on: 'device' | 'model';
  /** Why, for people: one sentence. */
  readonly why: string;
  /**
   * Makes the device raise MSI-X vector `vector`: the model device's outcome (`signalled`, `masked`,
   * ...). Undefined on a real device, which raises its vectors only when it has work to report.
   */
  readonly raise?: (vector: number) => string;
  /**
   * The device's INTx line and the guest's EOI, on the models only (a real device asserts INTx when
   * it has work, and no guest code runs to EOI).
   */
  readonly intx?: {
    /** The device asserts INTx and holds it: the model device's outcome (`signalled`, `masked`, ...). */
    assert(): string;
    /** The device stops asserting INTx (its driver cleared the cause). */
    deassert(): void;
    /** The guest's EOI of `vector` on vCPU `vcpu` (the KVM model's), then the resample signal reaches vfio-pci. */
    eoi(vcpu: number, vector: number): void;
  };
  /** Resolves once every signal raised so far on the partition's routes was delivered or latched. */
  settle(): Promise<void>;
}

/** Why the scene cannot run here. */
export interface PassthroughUnavailable {
  /** One sentence. */
  readonly unavailable: string;
  /** The address the user named in `TSVMM_VFIO_DEVICE`, when that device is what cannot be used. */
  readonly named?: string;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The real function named by `env[TSVMM_VFIO_DEVICE]` on /dev/kvm, else the model device on the KVM
 * model. Never throws: what cannot be opened is returned as the reason (every fd opened on the way
 * is closed again).
 */
export function openPassthroughHost(env: Readonly<Record<string, string | undefined>> = process.env): PassthroughHost | PassthroughUnavailable {
  let vfio: typeof Vfio;
  let virtKvm: ReturnType<typeof kvmPackages>['virtKvm'];
  try {
    virtKvm = kvmPackages().virtKvm;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    vfio = require('@tsvmm/vfio') as typeof Vfio;
  } catch (e) {
    const named = env[VFIO_DEVICE_ENV];
    return { unavailable: `the VFIO and KVM packages do not load here (${message(e)})`, ...(named ? { named } : {}) };
  }
  const address = env[VFIO_DEVICE_ENV];
  if (address !== undefined && address !== '') {
    let device: Vfio.VfioDevice;
    try {
      device = vfio.VfioDevice.open({ address, path: 'auto' });
    } catch (e) {
      return { unavailable: `${VFIO_DEVICE_ENV}=${address} could not be opened: ${message(e)}`, named: address };
    }
    let partition: Partition & LocalApicAccess;
    try {
      partition = virtKvm.KvmPartition.create({ vcpus: 2 });
    } catch (e) {
      device.dispose();
      return { unavailable: `${VFIO_DEVICE_ENV}=${address} opened, but real KVM is not usable here (${message(e)})`, named: address };
    }
    const settle = settleFor(partition);
    return {
      partition,
      device,
      on: 'device',
      why: `${VFIO_DEVICE_ENV} names ${address}: opened through the ${device.path} path (IOMMU group ${device.group}) and assigned to a partition on /dev/kvm`,
      settle,
      [Symbol.dispose]: () => {
        device.dispose();
        partition.dispose();
      },
    };
  }
  // The model device's sysfs tree is written to a temporary directory first: without it nothing is opened.
  let sysfs: string;
  try {
    sysfs = makeTempDirectory('tsvmm-demo-sysfs-');
  } catch (e) {
    if (!(e instanceof TempUnavailable)) throw e;
    return { unavailable: `the model device's sysfs tree cannot be written: ${e.message}` };
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { VfioKernelModel, VfioModelBridge } = require('@tsvmm/vfio/testing') as typeof VfioTesting;
  const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing') as typeof VirtKvmTesting;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const model = new VfioKernelModel({ devices: [{ address: MODEL_ADDRESS, group: MODEL_GROUP }] });
  const kvm = new KvmKernelModel({ apicIds: [0, 1] });
  const sys = new VfioModelBridge(model, kvm);
  let partition: Partition & LocalApicAccess;
  try {
    partition = virtKvm.KvmPartition.create({ vcpus: 2, sys: kvm, irqfd: 'kernel' });
  } catch (e) {
    sys.dispose();
    rmSync(sysfs, { recursive: true, force: true });
    throw e;
  }
  let device: Vfio.VfioDevice;
  try {
    model.writeSysfs(sysfs);
    device = vfio.VfioDevice.open({ address: MODEL_ADDRESS, sys, sysfs });
  } catch (e) {
    sys.dispose();
    partition.dispose();
    return { unavailable: `the model device could not be opened (${message(e)})` };
  } finally {
    rmSync(sysfs, { recursive: true, force: true });
  }
  const settle = settleFor(partition);
  const why = `no device is named (${VFIO_DEVICE_ENV}): the VFIO kernel model's device, assigned to the KVM backend on the KVM model, their eventfds joined as in one kernel`;
  return {
    partition,
    device,
    on: 'model',
    why,
    raise: (vector) => sys.raiseMsix(vector, MODEL_ADDRESS),
    // KVM asserts a resample irqfd's line from a work item after the eventfd write (irqfd_inject):
    // the model host lets that work run before the scene looks, as time passing does on a kernel.
    intx: {
      assert: () => {
        const r = sys.assertIntx(MODEL_ADDRESS);
        kvm.flushWork();
        return r;
      },
      deassert: () => model.deassertIntx(MODEL_ADDRESS),
      eoi: (vcpu, vector) => {
        kvm.eoi(vcpu, vector);
        sys.pump();
        kvm.flushWork();
      },
    },
    settle,
    [Symbol.dispose]: () => {
      device.dispose();
      sys.dispose();
      partition.dispose();
    },
  };
}
