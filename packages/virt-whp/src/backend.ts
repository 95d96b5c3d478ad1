/**
 * The registry entry of this backend: its name, a probe that never throws, and `open`.
 */
import type { BackendDescriptor, BackendProbe, BackendProbeCode } from '@tsvmm/virt';
import { describeError, thrownVirtError } from '@tsvmm/virt/implement';
import { WHP_MAX_X2APIC_VCPUS, WhpPartition, type WhpPartitionOptions, checkWhpPlatform } from './partition';

/**
 * Why WHP is or is not usable: `ok`; `platform` (not Windows x64); `no-device` (no
 * WinHvPlatform.dll, or no hypervisor); `error` (anything else).
 */
export type WhpProbeCode = Extract<BackendProbeCode, 'ok' | 'platform' | 'no-device' | 'error'>;

/** The result of {@link probe}: `BackendProbe` with WHP's reason codes. */
export interface WhpProbe extends BackendProbe {
  /** Why WHP is or is not usable (see {@link WhpProbeCode}). */
  readonly code: WhpProbeCode;
}

/** The type of {@link whpBackend}. */
export interface WhpBackend extends BackendDescriptor {
  /** The registry name, `whp`. */
  readonly name: 'whp';
  /** {@link probe} on the real libraries: creates and disposes a 2-VP partition; never throws. */
  probe(): WhpProbe;
  /** {@link WhpPartition.create}; throws its typed errors. */
  open(options: WhpPartitionOptions): WhpPartition;
}

/**
 * Whether WHP works here, found by creating a 2-VP partition and disposing it. `x2apicPartition`:
 * an `x2apic: true` partition (LocalApicEmulationMode X2Apic) reaches APIC ID
 * {@link WHP_MAX_X2APIC_VCPUS} minus 1, the highest VP index. Never throws: `options.library` (the
 * test seam of {@link WhpPartitionOptions}) whose getter throws, or a library that throws anything,
 * gives `code: 'error'` with the reason.
 */
export function probe(options: Pick<WhpPartitionOptions, 'library'> = {}): WhpProbe {
  // It never throws: `null` (or any non-object) is read as no options, as the Linux backends' probes read it.
  let library: WhpPartitionOptions['library'];
  try {
    library = typeof options === 'object' && options !== null ? options.library : undefined;
  } catch (e) {
    // A getter (or Proxy) that throws: the probe's answer is still a result, with the reason.
    return { backend: 'whp', available: false, code: 'error', reason: `options.library could not be read: ${describeError(e)}` };
  }
  if (library === undefined) {
    try {
      checkWhpPlatform('probe');
    } catch (e) {
      const reason = `WHP needs Windows on x64; this is ${process.platform} on ${process.arch}.`;
      return { backend: 'whp', available: false, code: 'platform', reason: thrownVirtError(e) !== undefined ? reason : describeError(e) };
    }
  }
  try {
    const p = WhpPartition.create({ vcpus: 2, library });
    try {
      const c = p.capabilities;
      const how = c.irqfd === 'kernel' ? 'interrupt triggers' : `no irqfd (${c.irqfdReason})`;
      const x2apicPartition = {
        available: true,
        maxApicId: WHP_MAX_X2APIC_VCPUS - 1,
        reason: `x2apic: true sets LocalApicEmulationMode X2Apic: VP i gets APIC ID i, so APIC IDs up to ${WHP_MAX_X2APIC_VCPUS - 1} with ${WHP_MAX_X2APIC_VCPUS} vCPUs.`,
      };
      return { backend: 'whp', available: true, code: 'ok', reason: `WinHvPlatform.dll works with ${how}.`, capabilities: c, x2apicPartition };
    } finally {
      p.dispose();
    }
  } catch (e) {
    const known = thrownVirtError(e);
    if (known === undefined) return { backend: 'whp', available: false, code: 'error', reason: `unexpected failure: ${describeError(e)}` };
    return { backend: 'whp', available: false, code: known.code === 'UNAVAILABLE' ? 'no-device' : 'error', reason: known.message };
  }
}

/** The registry entry for `tsvmm probe`, `demo` and `bench`. */
export const whpBackend: WhpBackend = Object.freeze({
  name: 'whp' as const,
  probe: () => probe(),
  open: (options: WhpPartitionOptions) => WhpPartition.create(options),
});
