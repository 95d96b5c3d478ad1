/**
 * The KVM backend as a registry entry: a name, a probe with a machine-readable reason code beside
 * the sentence, and `open`. Tools that list backends (the `tsvmm` CLI) iterate such descriptors
 * instead of knowing each package.
 */
import type { BackendDescriptor, BackendProbe, BackendProbeCode } from '@tsvmm/virt';
import { KVM_DEVICE } from './device';
import { describeError, thrownVirtError } from '@tsvmm/virt/implement';
import { KvmPartition, type KvmPartitionOptions } from './partition';

/**
 * Why KVM is or is not usable: `ok`; `platform` (not Linux); `no-device` (no `/dev/kvm`, or the
 * kernel has no usable KVM: a VirtError UNAVAILABLE); `permission` (EACCES or EPERM: a VirtError
 * PERMISSION); `unsupported` (a capability the backend needs is missing); `error` (anything else).
 */
export type KvmProbeCode = Extract<BackendProbeCode, 'ok' | 'platform' | 'no-device' | 'permission' | 'unsupported' | 'error'>;

/** {@link BackendProbe} with KVM's reason codes. */
export interface KvmBackendProbe extends BackendProbe {
  readonly code: KvmProbeCode;
}

/** The probe's answer to anything thrown (a VirtError by its code, anything else as error); never throws. */
function failed(e: unknown): KvmBackendProbe {
  const known = thrownVirtError(e);
  if (known === undefined) return { backend: 'kvm', available: false, code: 'error', reason: `unexpected failure: ${describeError(e)}` };
  const code: KvmProbeCode = known.code === 'UNAVAILABLE' ? 'no-device' : known.code === 'PERMISSION' ? 'permission' : known.code === 'UNSUPPORTED' ? 'unsupported' : 'error';
  return { backend: 'kvm', available: false, code, reason: known.message };
}

/**
 * Whether KVM works here and what a partition would offer, found by creating a 1-vCPU partition
 * and disposing it; `x2apicPartition` says what an `x2apic: true` partition would reach, from the
 * same KVM_CHECK_EXTENSION answers (KVM_CAP_X2APIC_API, KVM_CAP_MAX_VCPU_ID) and
 * KVM_GET_SUPPORTED_CPUID (the x2APIC CPUID bit), without creating one. `options.sys` and `options.device` as for {@link KvmPartition.create} (tests
 * inject failures through them). Never throws: options whose getters throw, or a `sys` that throws
 * anything (even a value that throws when converted to text), give `code: 'error'` with the reason.
 */
export function probe(options: Pick<KvmPartitionOptions, 'sys' | 'device'> = {}): KvmBackendProbe {
  if (process.platform !== 'linux') {
    return { backend: 'kvm', available: false, code: 'platform', reason: `KVM needs Linux; this is ${process.platform}.` };
  }
  try {
    // Each option is read once: the partition and the reason see the same device.
    const copy = { ...options };
    using p = KvmPartition.create({ ...copy, vcpus: 1 });
    const c = p.capabilities;
    const how = c.irqfd === 'kernel' ? 'kernel irqfd' : c.irqfd === 'emulated' ? `the user-space relay (${c.irqfdReason})` : 'no irqfd';
    return { backend: 'kvm', available: true, code: 'ok', reason: `${copy.device ?? KVM_DEVICE} works (API version 12) with ${how}.`, capabilities: c, x2apicPartition: p.x2apicPartitionProbe() };
  } catch (e) {
    return failed(e);
  }
}

/** The KVM backend descriptor: `probe()` creates and disposes a 1-vCPU partition and never throws. */
export const kvmBackend = Object.freeze({
  /** The registry name, `kvm`. */
  name: 'kvm',
  /** `open({ irqfd: 'relay' })` gives the user-space relay even where kernel irqfd exists. */
  relayMode: true,
  /** `options.sys` and `options.device` as for {@link KvmPartition.create} (tests inject failures through them). */
  probe: (options: Pick<KvmPartitionOptions, 'sys' | 'device'> = {}): KvmBackendProbe => probe(options),
  /** {@link KvmPartition.create}; throws its typed errors. */
  open(options: KvmPartitionOptions): KvmPartition {
    return KvmPartition.create(options);
  },
} as const) satisfies BackendDescriptor;
