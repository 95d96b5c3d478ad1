/**
 * The irqfd conformance suite against the native WHP model, loaded through the same koffi
 * declarations as WinHvPlatform.dll: with WHvUpdateTriggerParameters and without it, under every
 * setting of the behaviours WHP does not document (auto- or manual-reset trigger events; whether a
 * deleted trigger's event keeps a signal; whether WHvCreateTrigger needs WHvSetupPartition). After
 * each case the model's handle ledger must be clean: every event closed exactly once, after its
 * trigger was deleted, and no partition or trigger left alive.
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { WhpPartition } from '../src';
import { SWITCH_SETTINGS, applySettings, whpModel } from './model';
import { TEST_IN_FLIGHT_WAIT_MS } from './helpers';

for (const variant of ['full', 'no-update'] as const) {
  for (const settings of SWITCH_SETTINGS) {
    defineIrqFdConformance({
      name: `whp model (${variant === 'full' ? 'with' : 'without'} WHvUpdateTriggerParameters; ${settings.name})`,
      create() {
        const model = whpModel(variant);
        model.reset();
        applySettings(model, settings);
        const partition = WhpPartition.create({ vcpus: 2, library: model.library, inFlightWaitMs: TEST_IN_FLIGHT_WAIT_MS });
        return {
          partition,
          observer: apicObserver(partition),
          settle: () => partition.settle(),
          dispose: () => {
            partition.dispose();
            model.assertClean();
          },
        };
      },
    });
  }
}
