// The commands are functions too: run them in-process with an io that records the output.
const { SoftwarePartition } = require('@tsvmm/virt-software');
const { main, memoryIo, probeAll, runDemo } = require('tsvmm');

async function example() {
  const report = probeAll();                          // what `tsvmm probe --json` prints
  console.log(`best backend: ${report.best ?? 'none'}`);

  const io = memoryIo();
  const code = await main(['probe', '--json'], io);   // io.stdout holds the JSON
  console.log(`probe exited ${code}; backends: ${JSON.parse(io.stdout).backends.map((b) => b.backend).join(' ')}`);

  // The demo on a partition of your choice: every observation is read back from the local APICs.
  const partition = SoftwarePartition.create({ vcpus: 2 });
  try {
    const result = await runDemo({ partition, settle: () => Promise.resolve(), why: 'example' });
    console.log(result.ok ? 'every delivery landed where the guest programmed it' : result.observations.filter((o) => !o.ok));
  } finally {
    partition.dispose();
  }
}

example().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
