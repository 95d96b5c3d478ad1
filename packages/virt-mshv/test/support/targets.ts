/**
 * The kernels every behaviour test runs on: the mshv model always, and the real /dev/mshv where it
 * exists. One test body per behaviour, run once per target by {@link describeOnTargets}. Where an
 * expectation can be made on one target only, the body branches on `target.real`; what only a
 * device can show is listed in {@link DEVICE_ONLY}, and printed when the device is skipped.
 */
import { type MsiMessage, encodeMsi } from '@tsvmm/virt';
import type { DeliveryObserver } from '@tsvmm/virt/conformance';
import { type FaultInjector, type LinuxIrqFdTarget, assertNoCoalesced, coalescedOn, linuxIrqFdTarget as linuxIrqFdTargetOf, modelAndDevice, targetKernels } from '@tsvmm/linux-sys/testing';
import { type MshvPartition, type MshvProbeOptions } from '../../src';
import { abi } from '../../src/implement';
import { MshvKernelModel, type ModelRelayPlatform } from '../../src/testing';
import { type MshvFaultAdapter, type MshvFaultKernel, type MshvKernelOptions, mshvFaultAdapter, takeDeliveries, takeVcpuDeliveries } from './fault-adapter';

/** Set to 0 on a host that must be a root partition: a missing /dev/mshv then fails the run. */
const ALLOW_NO_MSHV = 'TSVMM_ALLOW_NO_MSHV';

export { DEVICE_ONLY } from './device-only';

/** Options of {@link MshvTarget.create}: those of {@link MshvKernelOptions}, `vcpus` defaulting to 2. */
export type TargetOptions = Omit<MshvKernelOptions, 'vcpus' | 'onModel'> & { readonly vcpus?: number };

/** One kernel the behaviour tests run on. */
export interface MshvTarget {
  /** `mshv model` or `real /dev/mshv`: in every test title. */
  readonly name: string;
  /** True on the real device: then the kernel's own state cannot be read back. */
  readonly real: boolean;
  /** The double-fault suite's adapter for this kernel. */
  readonly adapter: MshvFaultAdapter;
  /** A partition, its system calls recorded by a FaultInjector ({@link sysOf}). */
  create(options?: TargetOptions): MshvPartition;
  /** The FaultInjector under `p`, over the model or over libc: the labels it logs are the same on both. */
  sysOf(p: MshvPartition): FaultInjector;
  /** The model under `p`. Only in `!target.real` branches: a device has none. */
  modelOf(p: MshvPartition): MshvKernelModel;
  /** The system calls of the model's overflow relay under `p` (model only: a device's relay is its worker thread's). */
  relaySysOf(p: MshvPartition): FaultInjector;
  /** Every overflow relay platform the model under `p` made, oldest first (model only). */
  relaysOf(p: MshvPartition): readonly ModelRelayPlatform[];
  /** Pending vectors of every vCPU, cleared: `[[vcpu, vector], ...]`. On the model, also fails if any vector was injected twice. */
  takeIrr(p: MshvPartition): Array<[number, number]>;
  /** Where the conformance suite looks for deliveries on `p`. */
  observer(p: MshvPartition): DeliveryObserver;
  /** Descriptors open now: the process's (/proc/self/fd), and on the model also every number its kernels hold. */
  openFdCount(): number;
  /** Buffers allocated in every model this target made. Only in `!target.real` branches: koffi memory is not counted. */
  modelBuffers(): number;
  /** What `probe()` takes on this kernel: nothing on the device (its defaults), a new model otherwise. */
  probeOptions(): MshvProbeOptions;
}

function makeTarget(real: boolean): MshvTarget {
  const adapter = mshvFaultAdapter({ real });
  const book = targetKernels<MshvPartition, MshvKernelModel, MshvFaultKernel>((m) => m.openFds());
  const { kernelOf } = book;
  const takeIrr = (p: MshvPartition): Array<[number, number]> => {
    const out = takeDeliveries(p, real);
    const bus = kernelOf(p).model?.partitionOf(p.partitionFd)?.bus;
    if (bus !== undefined) assertNoCoalesced(coalescedOn(bus));
    return out;
  };
  return {
    name: adapter.name,
    real,
    adapter,
    create: (options = {}) => book.add(adapter.create({ vcpus: 2, ...options, onModel: (m) => book.track(m) })),
    sysOf: (p) => kernelOf(p).sys,
    modelOf: book.modelOf,
    relaySysOf(p) {
      const s = kernelOf(p).relaySys;
      if (s === undefined) throw new Error("a device's relay makes its calls on its worker thread: read them only where !target.real");
      return s;
    },
    relaysOf(p) {
      if (real) throw new Error("a device's relay is its worker thread: count the model's platforms only where !target.real");
      return kernelOf(p).relayPlatforms;
    },
    takeIrr,
    observer: (p) => ({
      apicId: (vcpu) => p.readLocalApic(vcpu).apicId,
      // As the suite's own apicObserver: its cases may signal twice before looking, so no double-injection check here.
      take: (vcpu) => takeVcpuDeliveries(p, vcpu, real),
    }),
    openFdCount: book.openFdCount,
    modelBuffers() {
      if (real) throw new Error('koffi memory is not counted: count buffers only where !target.real');
      return book.models.reduce((n, m) => n + m.allocatedBuffers, 0);
    },
    probeOptions() {
      if (real) return {};
      const m = book.track(new MshvKernelModel());
      return { sys: m, memory: m };
    },
  };
}

const MSHV_TARGETS = modelAndDevice({ path: abi.MSHV_DEVICE, allowMissingEnv: ALLOW_NO_MSHV, skipByDefault: true, modelName: 'mshv model', deviceName: 'real /dev/mshv' }, makeTarget);

/** The model target, and the real-device target where /dev/mshv exists. */
export function mshvTargets(): MshvTarget[] {
  return MSHV_TARGETS.targets();
}

/**
 * `describe(name)` once per target, the target's name in the title. The device's half goes
 * through `describeWithDevice`: where /dev/mshv is missing (most hosts: it exists only on a
 * Microsoft Hypervisor root partition) it is skipped by default with one `SKIPPED` line (and the
 * {@link DEVICE_ONLY} list, once per run); TSVMM_ALLOW_NO_MSHV=0 makes that a failure.
 */
export function describeOnTargets(name: string, body: (target: MshvTarget) => void): void {
  MSHV_TARGETS.describeOnTargets(name, body);
}

/** `describe` when /dev/mshv exists; otherwise a loud skip, or (TSVMM_ALLOW_NO_MSHV=0) a loud failure. */
export function describeMshv(name: string, fn: () => void): void {
  MSHV_TARGETS.describeDevice(name, fn);
}

/** An MSI to APIC ID `apicId` (fixed, physical, edge unless `extra` says otherwise): its address, data, and the message. */
export function msiTo(apicId: number, vector: number, extra: Partial<Parameters<typeof encodeMsi>[0]> = {}): { address: number; data: number; msi: MsiMessage } {
  const msi = encodeMsi({ destinationId: apicId, vector, ...extra });
  return { address: msi.addressLo, data: msi.data, msi };
}

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
