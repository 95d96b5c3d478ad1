/**
 * `tsvmm bench --against <dir>`, with fake checkouts in place of a second build: each fake prints a
 * fixed bench document (or hangs, or fails) and logs every run it makes with its start and end, so
 * the tests see the order the runs really happened in. No KVM is needed and nothing here depends on
 * how long anything takes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPARISON_SCHEMA, type BenchComparison, compareBuilds, type ComparisonPlan } from '../src/bench/against';
import { createProgress } from '../src/bench/progress';
import { type comparisonVerdict, formatComparisonTable } from '../src/cli/bench-command';
import { memoryIo } from '../src/cli/io';
import { main } from '../src/cli/main';
import { type FakeConfig, type FakeLogEntry, type FakeMetric, alive, fakeBin, fakeCheckout, readFakeLog } from './support/fake-checkout';
import { BIN, WIDE } from './support/run-cli';

/** The hang bound of the test that runs a comparison in a child process: far beyond the deadline it gives. */
const HANG_BOUND_MS = 60_000;

const COMPARE_RUN = path.join(__dirname, 'support', 'bench-against-run.js');

const MSIX: readonly FakeMetric[] = [
  { name: 'msix.table_write', unit: 'ns', values: [10, 30, 20] },
  { name: 'msix.table_read', unit: 'ns', values: [4, 4, 4] },
  { name: 'msix.enable_2048.commits', unit: 'commits', values: [1] },
  { name: 'msix.dropped', unit: 'ns', values: [1] },
];
const MSIX_OTHER: readonly FakeMetric[] = [
  { name: 'msix.table_write', unit: 'ns', values: [5, 50, 10] },
  { name: 'msix.table_read', unit: 'ns', values: [8, 2, 16] },
  { name: 'msix.enable_2048.commits', unit: 'commits', values: [2048] },
  { name: 'msix.added', unit: 'ns', values: [1] },
];
const ROUTES: readonly FakeMetric[] = [
  { name: 'routes.setup_2048.batched', unit: 'ms', skipped: 'KVM is not available: no /dev/kvm' },
  { name: 'routes.program_2048.batched', unit: 'ms', values: [3] },
];
const ROUTES_OTHER: readonly FakeMetric[] = [
  { name: 'routes.setup_2048.batched', unit: 'ms', values: [7] },
  { name: 'routes.program_2048.batched', unit: 'ms', failed: 'gave up after 1000 ms waiting for something' },
];

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-against-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Two fake builds sharing one log. */
function fakes(thisConfig: Partial<FakeConfig>, otherConfig: Partial<FakeConfig>): { thisDir: string; otherDir: string; log: string } {
  const log = path.join(tmp, 'runs.log');
  const thisDir = fakeCheckout(path.join(tmp, 'this'), { build: 'this', log, sections: { msix: MSIX, routes: ROUTES }, ...thisConfig });
  const otherDir = fakeCheckout(path.join(tmp, 'other'), { build: 'other', log, sections: { msix: MSIX_OTHER, routes: ROUTES_OTHER }, ...otherConfig });
  return { thisDir, otherDir, log };
}

function plan(thisDir: string, otherDir: string, over: Partial<ComparisonPlan> = {}): ComparisonPlan {
  return {
    sections: ['msix'],
    quick: true,
    rounds: 3,
    runDeadlineMs: 30_000,
    thisBin: fakeBin(thisDir),
    otherDir,
    otherBin: fakeBin(otherDir),
    progress: createProgress(memoryIo(), 100, false),
    ...over,
  };
}

/**
 * Throws unless the logged runs are the ABBA interleaving: one run at a time (each ends before the
 * next starts), and for each section, in round r, both builds once, `this` first in even rounds and
 * `other` first in odd ones.
 */
function expectAbba(log: readonly FakeLogEntry[], rounds: number, sections: readonly string[]): void {
  const runs = log.filter((e) => e.event !== 'helper');
  for (let i = 0; i < runs.length; i++) {
    const expected = i % 2 === 0 ? 'start' : 'end';
    if (runs[i]!.event !== expected || (i % 2 === 1 && runs[i]!.pid !== runs[i - 1]!.pid)) {
      throw new Error(`runs overlap: entry ${i} is ${JSON.stringify(runs[i])}, expected the ${expected} of ${i % 2 === 1 ? 'the run before' : 'a run'}`);
    }
  }
  for (const section of sections) {
    const order = runs.filter((e) => e.event === 'start' && e.argv![e.argv!.indexOf('--only') + 1] === section).map((e) => e.build);
    const expected = Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? ['this', 'other'] : ['other', 'this'])).flat();
    if (JSON.stringify(order) !== JSON.stringify(expected)) throw new Error(`${section}: runs in the order ${order.join(' ')}, expected ${expected.join(' ')}`);
  }
}

describe('compareBuilds', () => {
  it('reports each common metric as the median of each build\'s runs and their ratio, and the metrics only one build has', async () => {
    const { thisDir, otherDir } = fakes({}, {});
    const c = await compareBuilds(plan(thisDir, otherDir, { sections: ['msix', 'routes'] }));
    expect(c.schema).toBe(COMPARISON_SCHEMA);
    const byName = new Map(c.metrics.map((m) => [m.name, m]));
    // this: 10, 30, 20 (median 20); other: 5, 50, 10 (median 10).
    expect(byName.get('msix.table_write')).toMatchObject({ unit: 'ns', value: 20, baseline: 10, ratio: 2, count: 3, baselineCount: 3 });
    expect([...byName.get('msix.table_write')!.values].sort((a, b) => a - b)).toEqual([10, 20, 30]);
    // this: 4 every run; other: 8, 2, 16 (median 8).
    expect(byName.get('msix.table_read')).toMatchObject({ value: 4, baseline: 8, ratio: 0.5 });
    expect(byName.get('msix.enable_2048.commits')).toMatchObject({ unit: 'commits', value: 1, baseline: 2048, ratio: 1 / 2048 });
    expect(c.onlyThis).toEqual(['msix.dropped']);
    expect(c.onlyOther).toEqual(['msix.added']);
    // Reported by both, measured by one: not compared, with each build's reason.
    expect(c.unmeasured).toEqual([
      { name: 'routes.setup_2048.batched', this: 'KVM is not available: no /dev/kvm' },
      { name: 'routes.program_2048.batched', other: 'gave up after 1000 ms waiting for something' },
    ]);
    expect(c.runs).toHaveLength(12);
    expect(c.runs.every((r) => r.ok && r.exitCode === 0)).toBe(true);
    expect(c.meta).toMatchObject({ rounds: 3, sections: ['msix', 'routes'], quick: true, other: { dir: otherDir, version: 'tsvmm 0.0.0-fake' } });

    const table = formatComparisonTable(c, 1000);
    expect(table).toMatch(/^metric\s+this build\s+other build\s+this \/ other\s+runs$/m);
    expect(table).toMatch(/^msix\.table_write\s+20 ns\s+10 ns\s+2×\s+3 \/ 3$/m);
    expect(table).toMatch(/^msix\.table_read\s+4 ns\s+8 ns\s+0\.500×\s+3 \/ 3$/m);
    expect(table).toContain('Only in this build: msix.dropped');
    expect(table).toContain('Only in the other build: msix.added');
    expect(table).toContain('Not compared (routes.setup_2048.batched): this build: KVM is not available: no /dev/kvm');
    expect(table).toContain('Not compared (routes.program_2048.batched): other build: gave up after 1000 ms waiting for something');
    expect(table).not.toContain('Failed runs');
  });

  it('runs one build at a time, in ABBA order per section, with the section and the run flags', async () => {
    const { thisDir, otherDir, log } = fakes({}, {});
    const c = await compareBuilds(plan(thisDir, otherDir, { sections: ['msix', 'routes'], rounds: 4 }));
    const entries = readFakeLog(log);
    expectAbba(entries, 4, ['msix', 'routes']);
    // The runs the comparison reports are the runs that happened, in that order.
    expect(c.runs.map((r) => `${r.build} ${r.section}`)).toEqual(entries.filter((e) => e.event === 'start').map((e) => `${e.build} ${e.argv![e.argv!.indexOf('--only') + 1]}`));
    expect(c.runs.map((r) => r.round)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]);
    for (const e of entries.filter((x) => x.event === 'start')) expect(e.argv).toEqual(['bench', '--json', '-', '--only', e.argv![4], '--quick', '--no-progress']);
  });

  it('has an interleaving check that rejects one build always first, and overlapping runs', () => {
    const start = (build: string, section: string, pid: number): FakeLogEntry => ({ build, event: 'start', t: 0, pid, argv: ['bench', '--only', section] });
    const end = (build: string, pid: number): FakeLogEntry => ({ build, event: 'end', t: 0, pid });
    const aThenB = [0, 1, 2].flatMap((r) => [start('this', 'msix', 10 * r), end('this', 10 * r), start('other', 'msix', 10 * r + 1), end('other', 10 * r + 1)]);
    expect(() => expectAbba(aThenB, 3, ['msix'])).toThrow(/msix: runs in the order this other this other this other, expected this other other this this other/);
    const abba = [0, 1].flatMap((r) => (r === 0 ? ['this', 'other'] : ['other', 'this']).flatMap((b, k) => [start(b, 'msix', 10 * r + k), end(b, 10 * r + k)]));
    expect(() => expectAbba(abba, 2, ['msix'])).not.toThrow();
    const overlapping = [start('this', 'msix', 1), start('other', 'msix', 2), end('this', 1), end('other', 2)];
    expect(() => expectAbba(overlapping, 1, ['msix'])).toThrow(/runs overlap/);
  });

  it('reports a build that exits non-zero in every round, and compares nothing of that section', async () => {
    const { thisDir, otherDir } = fakes({}, { mode: 'fail' });
    const c = await compareBuilds(plan(thisDir, otherDir));
    expect(c.runs.filter((r) => !r.ok)).toEqual(
      [1, 2, 3].map((round) => ({
        round,
        section: 'msix',
        build: 'other',
        ok: false,
        exitCode: 3,
        failed: 'exited with 3 without a bench JSON document on stdout: tsvmm bench: the fake build cannot run here',
      })),
    );
    expect(c.runs.filter((r) => r.ok).map((r) => r.build)).toEqual(['this', 'this', 'this']);
    expect(c.metrics).toEqual([]);
    // Not "only in this build": the other build never said which metrics it has.
    expect(c.onlyThis).toEqual([]);
    expect(c.notes).toContain('msix: not compared: no run of the other build printed its figures (see the failed runs).');
    const table = formatComparisonTable(c, 1000);
    expect(table).toContain('Failed runs (their figures count for nothing):\n  round 1, msix, other build: exited with 3');
    expect(table).toContain('No metric was measured by both builds.');
  });

  it('takes the message of a build that answers with a JSON error', async () => {
    const { thisDir, otherDir } = fakes({}, { mode: 'error' });
    const c = await compareBuilds(plan(thisDir, otherDir, { rounds: 1 }));
    expect(c.runs.find((r) => r.build === 'other')).toMatchObject({
      ok: false,
      exitCode: 2,
      failed: "exited with 2: tsvmm bench: --only takes sections from: delivery, routes (got 'msix'). Run 'tsvmm bench --help' for usage.",
    });
  });

  it('counts a run that exits 1 with its document (a failed measurement): its other figures stand', async () => {
    const { thisDir, otherDir } = fakes({}, { exitCode: 1 });
    const c = await compareBuilds(plan(thisDir, otherDir, { rounds: 2 }));
    expect(c.runs.every((r) => r.ok)).toBe(true);
    expect(c.runs.filter((r) => r.build === 'other').map((r) => r.exitCode)).toEqual([1, 1]);
    expect(c.metrics.map((m) => m.name)).toContain('msix.table_write');
  });

  it('leaves out the flags an older build does not know, and says so', async () => {
    const { thisDir, otherDir, log } = fakes({}, { flags: ['quick', 'json', 'report', 'only', 'strict', 'help'] });
    const c = await compareBuilds(plan(thisDir, otherDir, { rounds: 2 }));
    const other = readFakeLog(log).filter((e) => e.event === 'start' && e.build === 'other');
    for (const e of other) expect(e.argv).toEqual(['bench', '--json', '-', '--only', 'msix', '--quick']);
    expect(c.notes).toEqual([
      "the other build's bench has no --no-progress: its runs were given no such flag (their progress on stderr is discarded).",
    ]);
    expect(c.runs.every((r) => r.ok)).toBe(true);
  });

  it('gives every flag to a build whose options cannot be read, and says so', async () => {
    const { thisDir, otherDir, log } = fakes({}, { helpExit: 2 });
    const c = await compareBuilds(plan(thisDir, otherDir, { rounds: 1 }));
    expect(readFakeLog(log).find((e) => e.event === 'start' && e.build === 'other')!.argv).toEqual(['bench', '--json', '-', '--only', 'msix', '--quick', '--no-progress']);
    expect(c.notes).toEqual([
      "the other build's bench options could not be read (`bench --help` exited with 2: tsvmm bench: unknown option '--help'); its runs were given the same flags as this build's.",
    ]);
    expect(c.runs.every((r) => r.ok)).toBe(true);
  });

  it('runs a build without --only on every section and compares the section of the round alone', async () => {
    const { thisDir, otherDir, log } = fakes({}, { flags: ['quick', 'json', 'no-progress', 'help'] });
    const c = await compareBuilds(plan(thisDir, otherDir, { rounds: 1 }));
    expect(readFakeLog(log).find((e) => e.event === 'start' && e.build === 'other')!.argv).toEqual(['bench', '--json', '-', '--quick', '--no-progress']);
    expect(c.onlyOther).toEqual(['msix.added']); // not the routes metrics it printed too
    expect(c.notes[0]).toMatch(/has no --only: each of its runs measured every section/);
  });

  it('refuses a build whose bench has no --json: its figures could not be read', async () => {
    const { thisDir, otherDir, log } = fakes({}, { flags: ['quick', 'help'] });
    await expect(compareBuilds(plan(thisDir, otherDir))).rejects.toThrow(/that build's bench has no --json option/);
    expect(readFakeLog(log)).toEqual([]);
  });
});

describe('tsvmm bench --against (the command)', () => {
  it('is a usage error for a directory without a built CLI, saying to build it', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['bench', '--against', tmp], io)).toBe(2);
    expect(io.stderr).toBe(
      `tsvmm bench: --against ${tmp}: ${path.join(tmp, 'packages', 'cli', 'dist', 'bin.js')} is missing: build that checkout first (cd ${tmp} && npx -y pnpm@10 install && npx -y pnpm@10 build). Run 'tsvmm bench --help' for usage.\n`,
    );
    const missing = memoryIo(WIDE);
    expect(await main(['bench', '--against', path.join(tmp, 'nothing'), '--json', '-'], missing)).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'USAGE', exitCode: 2 } });
  });

  it.each([
    [['--rounds', '3'], '--rounds applies only to --against'],
    [['--against', '.', '--rounds', '0'], "--rounds takes a whole number from 1 to 100, got '0'"],
    [['--against', '.', '--rounds', '2.5'], "--rounds takes a whole number from 1 to 100, got '2.5'"],
    [['--against', '.', '--report', 'r'], "--report does not apply to --against, which compares two builds' figures"],
    [['--against', '.', '--strict'], "--strict does not apply to --against, which compares two builds' figures"],
  ])('bench %j is a usage error', async (args, message) => {
    const io = memoryIo(WIDE);
    expect(await main(['bench', ...args], io)).toBe(2);
    expect(io.stderr).toContain(`tsvmm bench: ${message}.`);
  });

  it('compares this build with another, table on stderr and one JSON document on stdout with --json -', async () => {
    const { otherDir } = fakes({}, {});
    const io = memoryIo(WIDE);
    const code = await main(['bench', '--against', otherDir, '--only', 'msix', '--quick', '--rounds', '2', '--json', '-', '--no-progress'], io);
    expect(code).toBe(0);
    const c = JSON.parse(io.stdout) as BenchComparison;
    expect(c.schema).toBe(COMPARISON_SCHEMA);
    // This build's real msix figures against the fake's.
    const write = c.metrics.find((m) => m.name === 'msix.table_write')!;
    expect(write).toMatchObject({ unit: 'ns', count: 2, baselineCount: 2 });
    expect(write.ratio).toBeCloseTo(write.value / write.baseline, 12);
    expect(c.onlyOther).toEqual(['msix.added']);
    expect(c.onlyThis).toEqual(expect.arrayContaining(['msix.baseline_dataview', 'msix.enable_2048']));
    expect(c.runs.map((r) => r.build)).toEqual(['this', 'other', 'other', 'this']);
    expect(c.meta.this.bin).toBe(BIN);
    expect(io.stderr).toMatch(/^metric\s+this build\s+other build/m);
    expect(io.stderr).toMatch(/Compared 2 rounds of msix \(quick runs, the two builds' order swapped every round\) against .*other \(tsvmm 0\.0\.0-fake\)/);
  });

  it('kills a run that passes its deadline with its process group, reports it for its round, and still ends', () => {
    const { thisDir, otherDir, log } = fakes({}, { mode: 'hang' });
    // In a child process: without the deadline the comparison would never end, and only a child can be stopped.
    // The deadline is long enough for a fake run that ends at once to start and end on a loaded
    // machine: only the hanging run may reach it.
    const run = spawnSync(process.execPath, [COMPARE_RUN, thisDir, otherDir, '2', '3000'], { encoding: 'utf8', timeout: HANG_BOUND_MS });
    if (run.error) throw new Error(`a comparison with a run that hangs did not end within ${HANG_BOUND_MS} ms (${run.error.message}): it hangs`);
    if (run.status !== 0) throw new Error(`the comparison crashed (status ${run.status}): ${run.stderr}`);
    const { comparison: c, table, verdict, stderr } = JSON.parse(run.stdout) as {
      comparison: BenchComparison;
      table: string;
      verdict: ReturnType<typeof comparisonVerdict>;
      stderr: string;
    };
    const waited = (round: number): string => `gave up after 3000 ms waiting for the other build's msix section (round ${round}) to finish; it was killed with its process group`;
    expect(c.runs.map((r) => [r.round, r.build, r.ok, r.failed])).toEqual([
      [1, 'this', true, undefined],
      [1, 'other', false, waited(1)],
      [2, 'other', false, waited(2)],
      [2, 'this', true, undefined],
    ]);
    expect(stderr).toContain(`round 1, msix, other build: FAILED: ${waited(1)}`);
    expect(table).toContain(`  round 2, msix, other build: ${waited(2)}`);
    expect(verdict).toEqual({ exitCode: 1, lines: [`tsvmm bench --against: 2 of 4 runs failed (first: round 1, msix, other build: ${waited(1)}).`] });
    // The hanging runs and the helpers they started are gone, not left behind.
    const pids = readFakeLog(log)
      .filter((e) => e.build === 'other' && (e.event === 'start' || e.event === 'helper'))
      .map((e) => e.pid);
    expect(pids).toHaveLength(4);
    // SIGKILL is sent by then but may not have landed yet: wait for it a while, never for long.
    const until = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < until) spawnSync('sleep', ['0.05']);
    expect(pids.filter(alive)).toEqual([]);
  }, HANG_BOUND_MS + 5_000);
});
