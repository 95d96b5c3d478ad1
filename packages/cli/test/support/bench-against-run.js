// Run by test/bench-against.test.ts in a child process, so that a run without a deadline shows as
// this process killed at the test's bound, not as a hung test run. Compares the fake checkout
// argv[2] ("this build") with argv[3] ("the other build") through the built CLI's compareBuilds,
// section msix, argv[4] rounds of quick runs, each with a deadline of argv[5] ms. Prints one JSON
// object: the comparison, its table and its verdict.
'use strict';
const path = require('node:path');

const dist = path.resolve(__dirname, '..', '..', 'dist');
const { checkoutBin, compareBuilds } = require(path.join(dist, 'bench', 'against.js'));
const { createProgress } = require(path.join(dist, 'bench', 'progress.js'));
const { memoryIo } = require(path.join(dist, 'cli', 'io.js'));
const { comparisonVerdict, formatComparisonTable } = require(path.join(dist, 'cli', 'bench-command.js'));

const [thisDir, otherDir, rounds, deadlineMs] = process.argv.slice(2);

(async () => {
  const io = memoryIo({ COLUMNS: '1000' });
  const comparison = await compareBuilds({
    sections: ['msix'],
    quick: true,
    rounds: Number(rounds),
    runDeadlineMs: Number(deadlineMs),
    thisBin: checkoutBin(thisDir),
    otherDir,
    otherBin: checkoutBin(otherDir),
    progress: createProgress(io, 100, true),
  });
  process.stdout.write(JSON.stringify({ comparison, table: formatComparisonTable(comparison, 1000), verdict: comparisonVerdict(comparison), stderr: io.stderr }));
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exitCode = 70;
});
