/**
 * The kernels every behaviour test runs on: the mshv model always, and the real /dev/mshv where it
 * exists. One test body per behaviour, run once per target by {@link describeOnTargets}. Where an
 * expectation can be made on one target only, the body branches on `target.real`; what only a
 * device can show is listed in {@link DEVICE_ONLY}, and printed when the device is skipped.
 */
import type { DeliveryObserver } from '@tsvmm/virt/conformance';
import { type FaultInjector, type LinuxIrqFdTarget, type LinuxTestTarget, type TargetCreateOptions, linuxIrqFdTarget as linuxIrqFdTargetOf, linuxTestTarget, modelAndDevice, modelOnly } from '@tsvmm/linux-sys/testing';
import { type MshvPartition, type MshvProbeOptions } from '../../src';
import { abi } from '../../src/implement';
import { MshvKernelModel, type ModelRelayPlatform } from '../../src/testing';
import { type MshvFaultAdapter, type MshvFaultKernel, type MshvKernelOptions, mshvFaultAdapter, takeDeliveries, takeVcpuDeliveries } from './fault-adapter';

/** Set to 0 on a host that must be a root partition: a missing /dev/mshv then fails the run. */
const ALLOW_NO_MSHV = 'TSVMM_ALLOW_NO_MSHV';

export { DEVICE_ONLY } from './device-only';

/** Options of {@link MshvTarget.create}: those of {@link MshvKernelOptions}, `vcpus` defaulting to 2. */
export type TargetOptions = TargetCreateOptions<MshvKernelOptions>;

/** One kernel the behaviour tests run on: `mshv model` or `real /dev/mshv`. */
export interface MshvTarget extends LinuxTestTarget<MshvPartition, MshvKernelModel, MshvKernelOptions> {
  /** The double-fault suite's adapter for this kernel. */
  readonly adapter: MshvFaultAdapter;
  /** The system calls of the model's overflow relay under `p` (model only: a device's relay is its worker thread's). */
  relaySysOf(p: MshvPartition): FaultInjector;
  /** Every overflow relay platform the model under `p` made, oldest first (model only). */
  relaysOf(p: MshvPartition): readonly ModelRelayPlatform[];
  /** Where the conformance suite looks for deliveries on `p`. */
  observer(p: MshvPartition): DeliveryObserver;
  /** Buffers allocated in every model this target made. Only in `!target.real` branches: koffi memory is not counted. */
  modelBuffers(): number;
  /** What `probe()` takes on this kernel: nothing on the device (its defaults), a new model otherwise. */
  probeOptions(): MshvProbeOptions;
}

function makeTarget(real: boolean): MshvTarget {
  const adapter = mshvFaultAdapter({ real });
  const { target, book } = linuxTestTarget<MshvPartition, MshvKernelModel, MshvFaultKernel, MshvKernelOptions>({
    adapter,
    real,
    modelFds: (m) => m.openFds(),
    // IRR read with MSHV_GET_VP_STATE, and on a device the register page's queue too.
    deliveries: (p) => takeDeliveries(p, real),
    bus: (m, p) => m.partitionOf(p.partitionFd)?.bus,
  });
  const { kernelOf } = book;
  return {
    ...target,
    adapter,
    relaySysOf: (p) => modelOnly(kernelOf(p).relaySys, "a device's relay makes its calls on its worker thread"),
    relaysOf: (p) => modelOnly(real ? undefined : kernelOf(p).relayPlatforms, "a device's relay is its worker thread, not the model's platforms"),
    observer: (p) => ({
      apicId: (vcpu) => p.readLocalApic(vcpu).apicId,
      // As the suite's own apicObserver: its cases may signal twice before looking, so no double-injection check here.
      take: (vcpu) => takeVcpuDeliveries(p, vcpu, real),
    }),
    modelBuffers: () => modelOnly(real ? undefined : book.models.reduce((n, m) => n + m.allocatedBuffers, 0), 'koffi memory is not counted'),
    probeOptions() {
      if (real) return {};
      const m = book.track(new MshvKernelModel());
      return { sys: m, memory: m };
    },
  };
}

/**
 * `mshvTargets()`: the model target, and the real-device target where /dev/mshv exists.
 * `describeOnTargets(name, body)`: `describe(name)` once per target, the target's name in the
 * title. `describeMshv(name, fn)`: `describe` when /dev/mshv exists. A device's half goes through
 * `describeWithDevice`: where /dev/mshv is missing (most hosts: it exists only on a Microsoft
 * Hypervisor root partition) it is skipped by default with one `SKIPPED` line (and the
 * {@link DEVICE_ONLY} list, once per run); TSVMM_ALLOW_NO_MSHV=0 makes that a failure.
 */
export const { targets: mshvTargets, describeOnTargets, describeDevice: describeMshv } = modelAndDevice(
  { path: abi.MSHV_DEVICE, allowMissingEnv: ALLOW_NO_MSHV, skipByDefault: true, modelName: 'mshv model', deviceName: 'real /dev/mshv' },
  makeTarget,
);

export { msiTo } from '@tsvmm/linux-sys/testing';

/** `target` as the shared route suites of @tsvmm/linux-sys/testing take it (the model's read-backs on the model only). */
export function linuxIrqFdTarget(target: MshvTarget): LinuxIrqFdTarget {
  return linuxIrqFdTargetOf(target, {
    irqfd: (p) => p.irqfd()!,
    eventfdCount: (model, fd) => model.eventfdCounter(fd),
    irqfdGsi: (model, p, fd) => model.irqfdGsi(p.partitionFd, fd),
    kernelState: (model, p) => {
      const kernel = model.partitionOf(p.partitionFd)!;
      return { table: kernel.routes.size, irqfds: kernel.irqfds.length, hazards: model.hazards };
    },
  });
}
