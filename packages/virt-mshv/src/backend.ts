/**
 * The mshv backend as a registry entry: its name, a probe that says whether it works on this host
 * (and why not), and how to open a partition.
 */
import type { BackendDescriptor, BackendProbe, BackendProbeCode } from '@tsvmm/virt';
import { MSHV_DEVICE } from './abi';
import { describeError, thrownVirtError } from '@tsvmm/virt/implement';
import { MshvPartition, type MshvPartitionOptions } from './partition';

/**
 * Why mshv is or is not usable: `ok`; `platform` (not Linux); `no-device` (no /dev/mshv: not a
 * Microsoft Hypervisor root partition); `permission` (/dev/mshv exists but this user may not open
 * it); `error` (/dev/mshv opened, but creating a partition failed).
 */
export type MshvProbeCode = Extract<BackendProbeCode, 'ok' | 'platform' | 'no-device' | 'permission' | 'error'>;

/** The result of {@link probe}: `BackendProbe` with mshv's reason codes. */
export interface MshvBackendProbe extends BackendProbe {
  /** Why mshv is or is not usable (see {@link MshvProbeCode}). */
  readonly code: MshvProbeCode;
}

/** Probe options: tests pass the kernel model; by default the real device. */
export type MshvProbeOptions = Omit<MshvPartitionOptions, 'vcpus'>;

/**
 * Whether mshv works here, found by creating a 1-VP partition and disposing it (mshv has no
 * capability query). `x2apicPartition` is never available: an `x2apic: true` partition reaches
 * the same APIC IDs (`capabilities.x2apicReason` says why). Never throws: options whose getters
 * throw, or a `sys` that throws anything (even a value that throws when converted to text), give
 * `code: 'error'` with the reason.
 */
export function probe(options: MshvProbeOptions = {}): MshvBackendProbe {
  try {
    // Each option is read once: the platform check, the partition and the reason see the same values.
    const copy = { ...options };
    if (process.platform !== 'linux' && copy.sys === undefined) {
      return { backend: 'mshv', available: false, code: 'platform', reason: `mshv needs Linux running as the Microsoft Hypervisor's root partition; this is ${process.platform}.` };
    }
    const p = MshvPartition.create({ ...copy, vcpus: 1 });
    try {
      const c = p.capabilities;
      const how = c.irqfd === 'kernel' ? 'kernel irqfd (MSHV_IRQFD)' : `no irqfd (${c.irqfdReason})`;
      // No mshv partition reaches above its default one's limit, x2APIC-capable or not: the same limit and reason.
      const x2apicPartition = { available: false, maxApicId: c.maxApicId, reason: `${c.x2apicReason}.` };
      return { backend: 'mshv', available: true, code: 'ok', reason: `${copy.device ?? MSHV_DEVICE} works with ${how}.`, capabilities: c, x2apicPartition };
    } finally {
      p.dispose();
    }
  } catch (e) {
    const known = thrownVirtError(e);
    if (known === undefined) return { backend: 'mshv', available: false, code: 'error', reason: `unexpected failure: ${describeError(e)}` };
    const code: MshvProbeCode = known.code === 'UNAVAILABLE' ? 'no-device' : known.code === 'PERMISSION' ? 'permission' : 'error';
    return { backend: 'mshv', available: false, code, reason: known.message };
  }
}

/** The registry entry for `tsvmm probe`, `demo` and `bench`. */
export const mshvBackend = Object.freeze({
  /** The registry name, `mshv`. */
  name: 'mshv' as const,
  /** {@link probe} on the real device: creates and disposes a 1-VP partition; never throws. */
  probe: (): MshvBackendProbe => probe(),
  /** {@link MshvPartition.create}; throws its typed errors. */
  open: (options: MshvPartitionOptions): MshvPartition => MshvPartition.create(options),
}) satisfies BackendDescriptor;
