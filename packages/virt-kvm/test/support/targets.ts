/**
 * The kernels every behaviour test runs on: the KVM model always, and the real /dev/kvm where it
 * exists. One test body per behaviour, run once per target by {@link describeOnTargets}. Where an
 * expectation can be made on one target only, the body branches on `target.real`; what only a
 * device can show is listed in {@link DEVICE_ONLY}, and printed when the device is skipped.
 */
import { type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import { type FaultInjector, type LinuxIrqFdTarget, assertNoCoalesced, coalescedOn, linuxIrqFdTarget as linuxIrqFdTargetOf, modelAndDevice, targetKernels } from '@tsvmm/linux-sys/testing';
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
export type TargetOptions = Omit<KvmKernelOptions, 'vcpus' | 'onModel'> & { readonly vcpus?: number };

/** One kernel the behaviour tests run on. */
export interface KvmTarget {
  /** `KVM model` or `real /dev/kvm`: in every test title. */
  readonly name: string;
  /** True on the real device: then the kernel's own state cannot be read back. */
  readonly real: boolean;
  /** The double-fault suite's adapter for this kernel. */
  readonly adapter: KvmFaultAdapter;
  /** A partition (irqfd `kernel` unless asked), its system calls recorded by a FaultInjector ({@link sysOf}). */
  create(options?: TargetOptions): KvmPartition;
  /** The FaultInjector under `p`, over the model or over libc: the labels it logs are the same on both. */
  sysOf(p: KvmPartition): FaultInjector;
  /** The model under `p`. Only in `!target.real` branches: a device has none. */
  modelOf(p: KvmPartition): KvmKernelModel;
  /** The model's overflow relay platform under `p`, once started (model only). */
  relayOf(p: KvmPartition): ModelRelayPlatform | undefined;
  /** IRR of every vCPU, read with KVM_GET_LAPIC and cleared: `[[vcpu, vector], ...]`. On the model, also fails if any vector was injected twice. */
  takeIrr(p: KvmPartition): Array<[number, number]>;
  /** Descriptors open now: the process's (/proc/self/fd), and on the model also every number its kernels hold. */
  openFdCount(): number;
  /** Numbers open in every model this target made. Only in `!target.real` branches. */
  modelFdCount(): number;
  /** Fresh system calls of this kernel (libc, or a new model with APIC IDs 0 and 1), for code that opens its own partition. */
  newSyscalls(): Syscalls;
}

function makeTarget(real: boolean): KvmTarget {
  const adapter = kvmFaultAdapter({ real });
  const book = targetKernels<KvmPartition, KvmKernelModel, KvmFaultKernel>((m) => m.openFds);
  return {
    name: adapter.name,
    real,
    adapter,
    create: (options = {}) => book.add(adapter.create({ vcpus: 2, ...options, onModel: (m) => book.track(m) })),
    sysOf: (p) => book.kernelOf(p).sys,
    modelOf: book.modelOf,
    relayOf: (p) => book.kernelOf(p).relayPlatforms[0],
    takeIrr(p) {
      const out = takeDeliveries(p);
      const model = book.kernelOf(p).model;
      if (model !== undefined) assertNoCoalesced(coalescedOn(model.bus));
      return out;
    },
    openFdCount: book.openFdCount,
    modelFdCount() {
      if (real) throw new Error('a device has no model: count model descriptors only where !target.real');
      return book.modelFdCount();
    },
    newSyscalls() {
      if (real) return libcSyscalls();
      return book.track(new KvmKernelModel({ apicIds: [0, 1] }));
    },
  };
}

const KVM_TARGETS = modelAndDevice({ path: KVM_DEVICE, allowMissingEnv: ALLOW_NO_KVM, modelName: 'KVM model', deviceName: 'real /dev/kvm' }, makeTarget);

/** The model target, and the real-device target where /dev/kvm exists. */
export function kvmTargets(): KvmTarget[] {
  return KVM_TARGETS.targets();
}

/**
 * `describe(name)` once per target, the target's name in the title. The device's half goes
 * through `describeWithDevice`: where /dev/kvm is missing it fails, unless TSVMM_ALLOW_NO_KVM=1,
 * which skips it with one `SKIPPED` line (and the {@link DEVICE_ONLY} list, once per run).
 */
export function describeOnTargets(name: string, body: (target: KvmTarget) => void): void {
  KVM_TARGETS.describeOnTargets(name, body);
}

/** `describe` when /dev/kvm exists; otherwise a loud failure or (TSVMM_ALLOW_NO_KVM=1) a loud skip. */
export function describeKvm(name: string, fn: () => void): void {
  KVM_TARGETS.describeDevice(name, fn);
}

/** A fixed, physical, edge MSI to APIC ID `apicId`. */
export function msiTo(apicId: number, vector: number): { address: number; data: number; msi: MsiMessage } {
  const msi = encodeMsi({ destinationId: apicId, vector });
  return { address: msi.addressLo, data: msi.data, msi };
}

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
