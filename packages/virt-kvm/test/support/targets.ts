/**
 * The kernels every behaviour test runs on: the KVM model always, and the real /dev/kvm where it
 * exists. One test body per behaviour, run once per target by {@link describeOnTargets}. Where an
 * expectation can be made on one target only, the body branches on `target.real`; what only a
 * device can show is listed in {@link DEVICE_ONLY}, and printed when the device is skipped.
 */
import { type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import { type LinuxIrqFdTarget, type LinuxTestTarget, type TargetCreateOptions, linuxIrqFdTarget as linuxIrqFdTargetOf, linuxTestTarget, modelAndDevice, modelOnly } from '@tsvmm/linux-sys/testing';
import type { KvmIrqFd, KvmPartition } from '../../src';
import { KvmKernelModel, type ModelRelayPlatform } from '../../src/testing';
import { type KvmFaultAdapter, type KvmFaultKernel, type KvmKernelOptions, kvmFaultAdapter, takeDeliveries } from './fault-adapter';

const KVM_DEVICE = '/dev/kvm';
const ALLOW_NO_KVM = 'TSVMM_ALLOW_NO_KVM';

/**
 * Descriptors one irqfd route holds while it lives: its private eventfd and the duplicate handed
 * out as `event.fd` (so that a user closing `event.fd` never closes the route's own). Every
 * descriptor count a test expects is computed from this.
 */
export const DESCRIPTORS_PER_ROUTE = 2;

export { DEVICE_ONLY } from './device-only';

/** Options of {@link KvmTarget.create}: those of {@link KvmKernelOptions}, `vcpus` defaulting to 2. */
export type TargetOptions = TargetCreateOptions<KvmKernelOptions>;

/** One kernel the behaviour tests run on: `KVM model` or `real /dev/kvm`; `create` makes irqfd `kernel` partitions unless asked. */
export interface KvmTarget extends LinuxTestTarget<KvmPartition, KvmKernelModel, KvmKernelOptions> {
  /** The double-fault suite's adapter for this kernel. */
  readonly adapter: KvmFaultAdapter;
  /** The model's overflow relay platform under `p`, once started (model only). */
  relayOf(p: KvmPartition): ModelRelayPlatform | undefined;
  /** Numbers open in every model this target made. Only in `!target.real` branches. */
  modelFdCount(): number;
  /** Fresh system calls of this kernel (libc, or a new model with APIC IDs 0 and 1), for code that opens its own partition. */
  newSyscalls(): Syscalls;
}

function makeTarget(real: boolean): KvmTarget {
  const adapter = kvmFaultAdapter({ real });
  const { target, book } = linuxTestTarget<KvmPartition, KvmKernelModel, KvmFaultKernel, KvmKernelOptions>({
    adapter,
    real,
    modelFds: (m) => m.openFds,
    // IRR read with KVM_GET_LAPIC and cleared with KVM_SET_LAPIC.
    deliveries: takeDeliveries,
    bus: (m) => m.bus,
  });
  return {
    ...target,
    adapter,
    relayOf: (p) => book.kernelOf(p).relayPlatforms[0],
    modelFdCount: () => modelOnly(real ? undefined : book.modelFdCount(), 'a device has no model to count descriptors in'),
    newSyscalls() {
      if (real) return libcSyscalls();
      return book.track(new KvmKernelModel({ apicIds: [0, 1] }));
    },
  };
}

/**
 * `kvmTargets()`: the model target, and the real-device target where /dev/kvm exists.
 * `describeOnTargets(name, body)`: `describe(name)` once per target, the target's name in the
 * title. `describeKvm(name, fn)`: `describe` when /dev/kvm exists. A device's half goes through
 * `describeWithDevice`: where /dev/kvm is missing it fails, unless TSVMM_ALLOW_NO_KVM=1, which
 * skips it with one `SKIPPED` line (and the {@link DEVICE_ONLY} list, once per run).
 */
export const { targets: kvmTargets, describeOnTargets, describeDevice: describeKvm } = modelAndDevice(
  { path: KVM_DEVICE, allowMissingEnv: ALLOW_NO_KVM, modelName: 'KVM model', deviceName: 'real /dev/kvm' },
  makeTarget,
);

export { msiTo } from '@tsvmm/linux-sys/testing';

/** Orders `[vcpu, vector]` pairs. */
export function byVcpuThenVector(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** `target` as the shared route suites of @tsvmm/linux-sys/testing take it (the model's read-backs on the model only). */
export function linuxIrqFdTarget(target: KvmTarget): LinuxIrqFdTarget {
  return linuxIrqFdTargetOf(target, {
    irqfd: (p) => p.irqfd() as KvmIrqFd,
    eventfdCount: (model, fd) => model.eventfdCount(fd),
    irqfdGsi: (model, _p, fd) => model.irqfdGsi(fd),
    kernelState: (model) => ({ table: model.msiRoutes().size, irqfds: model.vm.irqfds.length, hazards: model.hazards }),
  });
}
