// Run by test/bench-deadlines.test.ts in a child process, so that a wait without a deadline (a
// synchronous poll that never ends) shows as a child killed at the test's bound, not as a hung
// test run. It runs the delivery section of the built CLI, then the msix section, with the
// delivery path named by argv[2] on a software partition whose route stays masked: its signals
// latch and are never delivered. The other paths deliver through working software partitions.
// Prints one JSON object: the result, the text table, the verdict and the progress on stderr.
'use strict';
const path = require('node:path');
const { SoftwarePartition } = require('@tsvmm/virt-software');

const dist = path.resolve(__dirname, '..', '..', 'dist');
const { SAMPLED, VECTOR, deliverySection, nodeDeliveryBatch } = require(path.join(dist, 'bench', 'sections', 'delivery.js'));
const { msixSection } = require(path.join(dist, 'bench', 'sections', 'msix.js'));
const { runBench } = require(path.join(dist, 'bench', 'run-bench.js'));
const { createProgress } = require(path.join(dist, 'bench', 'progress.js'));
const { memoryIo } = require(path.join(dist, 'cli', 'io.js'));
const { benchVerdict, formatBenchTable } = require(path.join(dist, 'cli', 'bench-command.js'));

const lost = process.argv[2];
if (!SAMPLED.includes(lost)) throw new Error(`argv[2] must name a sampled delivery path (${SAMPLED.join(', ')}), got ${lost}`);

async function softwareRig(_ctx, measure) {
  const partitions = [];
  try {
    const paths = {};
    for (const name of SAMPLED) {
      const p = SoftwarePartition.create({ vcpus: 2 });
      partitions.push(p);
      const route = p.irqfd().newIrqFdRoute();
      route.setMsi(0xfee00000 + p.readLocalApic(0).apicId * 0x1000, VECTOR);
      if (name !== lost) route.unmask();
      const probe = { clear: () => p.clearIrr(0), signal: () => route.event.signal(), irrSet: () => p.readLocalApic(0).irr.includes(VECTOR), vcpu: 0 };
      paths[name] = (n, spent) => nodeDeliveryBatch(probe, n, spent);
    }
    return await measure({ paths, drains: [], verify() {}, where: 'vCPU 0, vector 0x41', harness: 'software partitions' });
  } finally {
    for (const p of partitions) p.dispose();
  }
}

(async () => {
  const io = memoryIo({ COLUMNS: '1000' });
  const result = await runBench([deliverySection(softwareRig), msixSection], true, createProgress(io, 4, true));
  process.stdout.write(JSON.stringify({ result, table: formatBenchTable(result, 1000), verdict: benchVerdict(result, false), stderr: io.stderr }));
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exitCode = 70;
});
