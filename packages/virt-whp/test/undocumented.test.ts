/**
 * What the WHP documentation leaves open about trigger events: whether a deleted trigger's event
 * keeps a signal, and whether it is manual- or auto-reset. The same observation runs on every
 * target: on the model, under each switch setting, it must see exactly what the switches say (so
 * the observation itself is checked); on Windows, where nobody knows the answer in advance, it
 * reports what WHP does.
 */
import { parseMsi } from '@tsvmm/virt';
import { type WhpLibraryPaths } from '../src';
import { abi, triggerParameters, whpCalls } from '../src/implement';
import { WHP_MSI_POLICY } from '../src/encode';
import { describeOnTargets } from './support/targets';

interface Observed {
  /** A signal set on the event after WHvDeleteTrigger is still there. */
  readonly kept: boolean;
  /** The kept signal survives a successful wait (manual-reset); false when nothing was kept. */
  readonly manual: boolean;
}

/** Creates a trigger on a set-up 1-VP partition, deletes it, signals its event and waits on it twice. Undefined without trigger exports. */
function observe(library: WhpLibraryPaths): Observed | undefined {
  const c = whpCalls(library);
  if (!c.has('WHvCreateTrigger') || !c.has('WHvDeleteTrigger')) return undefined;
  const handle = c.createPartition();
  try {
    c.setPartitionPropertyU32(handle, abi.WHvPartitionPropertyCodeProcessorCount, 1);
    c.setPartitionPropertyU32(handle, abi.WHvPartitionPropertyCodeLocalApicEmulationMode, abi.WHvX64LocalApicEmulationModeXApic);
    c.setupPartition(handle);
    const t = c.createTrigger(handle, triggerParameters(parseMsi('t', 0xfee00000, 0x41, WHP_MSI_POLICY)));
    c.deleteTrigger(handle, t.trigger);
    c.setEvent(t.event);
    const kept = c.waitOne(t.event, 0);
    const manual = kept && c.waitOne(t.event, 0);
    c.closeHandle(t.event);
    return { kept, manual };
  } finally {
    c.deletePartition(handle);
  }
}

describeOnTargets('what the WHP documentation leaves open', (target) => {
  for (const configuration of target.configurations) {
    test(`whether a deleted trigger event keeps a signal, and whether a trigger event is manual-reset (${configuration.name})`, () => {
      configuration.prepare();
      const seen = observe(configuration.library);
      if (target.real) {
        // Nobody knows Windows' answer in advance: the run reports it.
        if (seen === undefined) {
          process.stderr.write('WHP: no WHvCreateTrigger/WHvDeleteTrigger on this Windows: nothing to observe\n');
          return;
        }
        process.stderr.write(`WHP: a deleted trigger's event ${seen.kept ? 'keeps' : 'drops'} a signal; ${seen.kept ? (seen.manual ? 'manual-reset' : 'auto-reset') : 'reset mode not observable'}\n`);
        expect(typeof seen.kept).toBe('boolean');
        return;
      }
      // The model does what its switches say: the observation must see exactly that, and leave its handles clean.
      const s = configuration.settings!;
      const kept = s.deleted_event_keeps_signal === 1;
      expect(seen).toEqual({ kept, manual: kept && s.manual_reset === 1 });
      configuration.model().assertClean();
    });
  }
});
