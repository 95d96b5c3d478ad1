/**
 * The commands are functions too: run them in-process with an io that records the output.
 * (Type-checked with the package: `npx tsc -p tsconfig.json --noEmit`.)
 */
import { SoftwarePartition } from '@tsvmm/virt-software';
import { main, memoryIo, probeAll, runDemo } from 'tsvmm';

export async function example(): Promise<void> {
  // What does this host support?
  const report = probeAll();
  console.log(`best backend: ${report.best ?? 'none'}`);

  // The probe command, as a script would run it.
  const io = memoryIo();
  const code = await main(['probe', '--json'], io);
  console.log(code, JSON.parse(io.stdout));

  // The demo on a partition of your choice: every observation is read back from the local APICs.
  using partition = SoftwarePartition.create({ vcpus: 2 });
  const result = await runDemo({ partition, settle: () => Promise.resolve(), why: 'example' });
  console.log(result.ok ? 'every delivery landed where the guest programmed it' : result.observations.filter((o) => !o.ok));
}
