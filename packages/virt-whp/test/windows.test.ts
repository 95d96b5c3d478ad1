/**
 * Against the real Windows Hypervisor Platform: only on Windows x64 with WHP enabled. Anywhere
 * else the file reports one skipped test naming the reason and prints one SKIPPED line: a skip is
 * never a pass. On Windows, it runs the conformance suite on WinHvPlatform.dll and records what WHP
 * does where its documentation is silent (the switches of the model).
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { SYSTEM_LIBRARIES, WhpPartition, abi, probe, triggerParameters, whpCalls } from '../src';
import { parseMsi } from '@tsvmm/virt';
import { WHP_MSI_POLICY } from '../src/encode';

const found = probe();
const NAME = 'real WHP (Windows x64)';

if (!found.available) {
  process.stderr.write(`SKIPPED "${NAME}": ${found.reason}\n`);
  describe(NAME, () => {
    it.skip(`needs Windows x64 with the Windows Hypervisor Platform: ${found.reason}`, () => undefined);
  });
} else {
  defineIrqFdConformance({
    name: NAME,
    create() {
      const partition = WhpPartition.create({ vcpus: 2 });
      return { partition, observer: apicObserver(partition), settle: () => partition.settle(), dispose: () => partition.dispose() };
    },
  });

  describe(`${NAME}: what the documentation leaves open`, () => {
    test('whether a deleted trigger event keeps a signal, and whether a trigger event is manual-reset (reported)', () => {
      const c = whpCalls(SYSTEM_LIBRARIES);
      if (!c.has('WHvCreateTrigger') || !c.has('WHvDeleteTrigger')) return;
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
        process.stderr.write(`WHP: a deleted trigger's event ${kept ? 'keeps' : 'drops'} a signal; ${kept ? (manual ? 'manual-reset' : 'auto-reset') : 'reset mode not observable'}\n`);
        expect(typeof kept).toBe('boolean');
      } finally {
        c.deletePartition(handle);
      }
    });
  });
}
