/**
 * The irqfd conformance suite on every target: on the native WHP model, loaded through the same
 * koffi declarations as WinHvPlatform.dll, with WHvUpdateTriggerParameters and without it, under
 * every setting of the behaviours WHP does not document (auto- or manual-reset trigger events;
 * whether a deleted trigger's event keeps a signal; whether WHvCreateTrigger needs
 * WHvSetupPartition); on Windows, on WinHvPlatform.dll as the host has it. On the model, after each
 * case the handle ledger must be clean: every event closed exactly once, after its trigger was
 * deleted, and no partition or trigger left alive.
 */
import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
import type { WhpPartition } from '../src';
import { conformancePartition } from './support/conformance-partition';
import { type WhpConfiguration, describeOnTargets } from './support/targets';

/**
 * The x2APIC runs' vCPUs: WHP gives VP i APIC ID i, so APIC ID 256 (low byte 0: a destination
 * truncated to 8 bits lands on vCPU 0; bits 14:8 nonzero, carried by the extended destination ID)
 * takes 257 VPs; 255 is then a destination of its own, not a broadcast.
 */
const X2APIC_VCPUS = 257;

describeOnTargets('conformance', (target) => {
  for (const configuration of target.configurations) {
    run(configuration, `whp on the ${target.name} (${configuration.name})`, () => configuration.create(), false);
    run(configuration, `whp on the ${target.name} (${configuration.name}), x2APIC, ${X2APIC_VCPUS} VPs`, () => configuration.create(X2APIC_VCPUS, { x2apic: true }), true);
  }

  function run(configuration: WhpConfiguration, name: string, make: () => WhpPartition, x2apic: boolean): void {
    defineIrqFdConformance({
      name,
      supports: { x2apic },
      create: () =>
        conformancePartition(make(), () => {
          // The handle ledger is the model's: Windows keeps no count a test can read.
          if (!target.real) configuration.model().assertClean();
        }),
    });
  }
});
