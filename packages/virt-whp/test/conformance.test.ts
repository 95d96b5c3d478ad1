/**
 * The irqfd conformance suite on every target: on the native WHP model, loaded through the same
 * koffi declarations as WinHvPlatform.dll, with WHvUpdateTriggerParameters and without it, under
 * every setting of the behaviours WHP does not document (auto- or manual-reset trigger events;
 * whether a deleted trigger's event keeps a signal; whether WHvCreateTrigger needs
 * WHvSetupPartition); on Windows, on WinHvPlatform.dll as the host has it. On the model, after each
 * case the handle ledger must be clean: every event closed exactly once, after its trigger was
 * deleted, and no partition or trigger left alive.
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { describeOnTargets } from './support/targets';

describeOnTargets('conformance', (target) => {
  for (const configuration of target.configurations) {
    defineIrqFdConformance({
      name: `whp on the ${target.name} (${configuration.name})`,
      create() {
        const partition = configuration.create();
        return {
          partition,
          observer: apicObserver(partition),
          settle: () => partition.settle(),
          dispose: () => {
            partition.dispose();
            // The handle ledger is the model's: Windows keeps no count a test can read.
            if (!target.real) configuration.model().assertClean();
          },
        };
      },
    });
  }
});
