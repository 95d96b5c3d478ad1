import { encodeMsi } from '@tsvmm/virt';
import { WhpPartition } from '../../src';
import type { WhpModel } from './native-model';

export const WHP_FUNCTIONS = [
  'WHvCreatePartition',
  'WHvSetPartitionProperty',
  'WHvSetupPartition',
  'WHvDeletePartition',
  'WHvCreateVirtualProcessor',
  'WHvGetCapability',
  'WHvRequestInterrupt',
  'WHvGetVirtualProcessorState',
  'WHvSetVirtualProcessorState',
  'WHvCreateTrigger',
  'WHvUpdateTriggerParameters',
  'WHvDeleteTrigger',
] as const;

/** WHP calls per function since the snapshot was taken (only nonzero ones). */
export function whpCallsSince(model: WhpModel): () => Record<string, number> {
  const before = Object.fromEntries(WHP_FUNCTIONS.map((f) => [f, model.calls(f)]));
  return () => {
    const out: Record<string, number> = {};
    for (const f of WHP_FUNCTIONS) {
      const d = model.calls(f) - before[f]!;
      if (d !== 0) out[f] = d;
    }
    return out;
  };
}

export function msi(vcpu: number, vector: number): { address: number; data: number } {
  const m = encodeMsi({ destinationId: vcpu, vector });
  return { address: m.addressLo, data: m.data };
}

/** Vectors in `vcpu`'s IRR, then clears them. */
export function take(p: WhpPartition, vcpu: number): number[] {
  const v = [...p.readLocalApic(vcpu).irr];
  p.clearIrr(vcpu);
  return v;
}

/** A generous in-flight wait: on a loaded test machine the model thread may be late. */
export const TEST_IN_FLIGHT_WAIT_MS = 2000;

export function fresh(model: WhpModel, vcpus = 2, inFlightWaitMs = TEST_IN_FLIGHT_WAIT_MS): WhpPartition {
  return WhpPartition.create({ vcpus, library: model.library, inFlightWaitMs });
}
