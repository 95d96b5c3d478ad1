/**
 * The command line's text as people read it: every human line wraps to the terminal's width (80
 * columns when stdout is not a terminal), JSON never does; the version flags; each command's own exit
 * codes in its help; repeated options refused; the bench table's width, its counts and its p99 rule.
 */
import { comparisonVerdict, formatBenchTable, formatComparisonTable } from '../src/cli/bench-command';
import { ratioText } from '../src/bench/ratio-text';
import { COMPARISON_SCHEMA, type BenchComparison } from '../src/bench/against';
import { renderReport } from '../src/bench/report';
import { COMMANDS, main } from '../src/cli/main';
import { EXIT_CODES, ExitCode } from '../src/cli/exit-codes';
import { memoryIo } from '../src/cli/io';
import { BENCH_SCHEMA, type BenchResult, type Metric, withRatio } from '../src/bench/result';
import { textWidth } from '../src/output/wrap';
import type { BackendDescriptor } from '../src/backends/descriptor';
import { BACKENDS } from '../src/backends/registry';
import { allSections } from '../src/bench/sections';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Columns a line takes in a terminal (every character here is one column wide). */
const columns = (line: string): number => [...line].length;
const widest = (text: string): number => Math.max(0, ...text.split('\n').map(columns));
const words = (text: string): string => text.replace(/\s+/g, ' ').trim();

const LONG_REASON = `open(/dev/kvm) failed (ENOENT 2) [UNAVAILABLE]. ${'This reason is a long sentence of many words that goes on. '.repeat(8).trim()}`;
/** A host whose kvm backend is missing with a reason several lines long. */
const longReasonHost: { backends: readonly BackendDescriptor[] } = {
  backends: BACKENDS.map((b) =>
    b.name === 'kvm' ? { ...b, probe: () => ({ backend: 'kvm', available: false, code: 'no-device' as const, reason: LONG_REASON }) } : b,
  ),
};

const WIDE_ENV = { COLUMNS: '1000' };

async function run(argv: string[], env: Record<string, string> = {}, hooks = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memoryIo(env);
  const code = await main(argv, io, hooks);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('the text width', () => {
  it('is COLUMNS when set, else the terminal width, else 80 columns', () => {
    expect(textWidth({}, false, undefined)).toBe(80);
    expect(textWidth({}, false, 132)).toBe(80);
    expect(textWidth({}, true, 132)).toBe(132);
    expect(textWidth({ COLUMNS: '60' }, true, 132)).toBe(60);
    expect(textWidth({ COLUMNS: 'wide' }, true, 132)).toBe(132);
  });

  it('is never below 40 columns, from COLUMNS or from the terminal', () => {
    expect(textWidth({ COLUMNS: '10' }, false, undefined)).toBe(40);
    expect(textWidth({ COLUMNS: '39' }, true, 132)).toBe(40);
    expect(textWidth({}, true, 12)).toBe(40);
    expect(textWidth({ COLUMNS: '41' }, true, 12)).toBe(41);
  });

  it('COLUMNS=10 lays the demo, the help and errors out as 40 columns would, not a word a line', async () => {
    for (const argv of [['demo', '--backend', 'software'], ['--help'], ['demo', '--backend', 'qemu']]) {
      const tiny = await run(argv, { COLUMNS: '10' });
      const forty = await run(argv, { COLUMNS: '40' });
      expect(tiny.code).toBe(forty.code);
      // Measured times may differ between the runs; the line breaks may not.
      for (const stream of ['stdout', 'stderr'] as const) expect(tiny[stream].split('\n').length).toBe(forty[stream].split('\n').length);
      expect(widest(tiny.stdout + tiny.stderr)).toBeLessThanOrEqual(40);
    }
  });

  it.each([
    ['tsvmm --help', ['--help']],
    ['tsvmm probe --help', ['probe', '--help']],
    ['tsvmm demo --help', ['demo', '--help']],
    ['tsvmm bench --help', ['bench', '--help']],
  ])('%s fits 80 columns on a pipe, and 50 in a narrow terminal, saying the same words', async (_, argv) => {
    const pipe = await run(argv);
    expect(pipe.code).toBe(0);
    expect(widest(pipe.stdout)).toBeLessThanOrEqual(80);
    const narrow = await run(argv, { COLUMNS: '50' });
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(50);
    const wide = await run(argv, { COLUMNS: '1000' });
    expect(words(narrow.stdout)).toBe(words(wide.stdout));
    // Each option's description hangs under itself: no continuation line starts at the flags' column.
    const options = narrow.stdout.split('Options:\n')[1]?.split('\n\n')[0];
    if (options) for (const l of options.split('\n')) expect(l).toMatch(/^ {2}(-h, |\s{4})--\S|^ {10,}\S/);
  });

  it('probe wraps each reason under its backend, at the terminal width, losing no word', async () => {
    const r = await run(['probe'], { COLUMNS: '60' }, longReasonHost);
    expect(widest(r.stdout)).toBeLessThanOrEqual(60);
    const lines = r.stdout.split('\n');
    const from = lines.findIndex((l) => l.startsWith('kvm '));
    const block = lines.slice(from + 1, lines.indexOf('', from));
    expect(block.length).toBeGreaterThan(3);
    for (const l of block) expect(l).toMatch(/^ {10}\S/);
    expect(words(block.join(' '))).toBe(words(LONG_REASON));
  });

  it('the demo wraps its irqfd line and every check to the terminal width', async () => {
    const r = await run(['demo', '--backend', 'software'], { COLUMNS: '50' });
    expect(r.code).toBe(0);
    expect(widest(r.stdout)).toBeLessThanOrEqual(50);
    const wide = await run(['demo', '--backend', 'software'], { COLUMNS: '1000' });
    const irqfd = wide.stdout.split('\n').find((l) => l.startsWith('irqfd: '))!;
    expect(columns(irqfd)).toBeGreaterThan(50);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('irqfd: '));
    const continued = lines.slice(at + 1, lines.findIndex((l, i) => i > at && !l.startsWith('  ')));
    expect(continued.length).toBeGreaterThan(0);
    expect(words([lines[at], ...continued].join(' '))).toBe(words(irqfd));
  });

  it('an error message wraps to the width of stderr, continuing 2 columns in', async () => {
    const r = await run(['probe', '--backend', 'kvm'], { COLUMNS: '40' }, longReasonHost);
    expect(r.code).toBe(3);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(columns(l)).toBeLessThanOrEqual(40);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {2}\S/);
    expect(words(r.stderr)).toBe(words(`tsvmm probe: kvm is not available: ${LONG_REASON}`));
    const usage = await run(['demo', '--backend', 'qemu'], { COLUMNS: '40' });
    expect(usage.code).toBe(2);
    expect(widest(usage.stderr)).toBeLessThanOrEqual(40);
  });

  it('never wraps JSON, however narrow the terminal', async () => {
    for (const argv of [['probe', '--json'], ['demo', '--json', '--backend', 'software'], ['probe', '--json', '--backend', 'nope']]) {
      const r = await run(argv, { COLUMNS: '20' }, longReasonHost);
      const doc = JSON.parse(r.stdout) as unknown;
      expect(r.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    }
  });
});

describe('the version', () => {
  it('is printed by --version, -v and -V alike', async () => {
    const outs = await Promise.all(['--version', '-v', '-V'].map((flag) => run([flag])));
    for (const r of outs) expect([r.code, r.stderr]).toEqual([0, '']);
    expect(outs[0]!.stdout).toMatch(/^tsvmm \d+\.\d+\.\d+\S*\n$/);
    expect(new Set(outs.map((r) => r.stdout)).size).toBe(1);
  });
});

/** The codes listed under `Exit codes:` in a help text. */
function listedCodes(help: string): number[] {
  const block = help.split('Exit codes:\n')[1]!.split('\n\n')[0]!;
  return block
    .split('\n')
    .map((l) => /^ {2}(\d+)\s/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined)
    .map(Number);
}

describe('exit codes in the help', () => {
  it('tsvmm --help lists every exit code', async () => {
    const all = Object.values(ExitCode).filter((v): v is number => typeof v === 'number');
    expect(listedCodes((await run(['--help'])).stdout).sort()).toEqual(all.sort());
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('tsvmm %s --help lists its own exit codes only', async (name, command) => {
    const codes = listedCodes((await run([name, '--help'])).stdout);
    expect(codes).toEqual(command.exitCodes.map((e) => e.code));
    expect(codes).toEqual(expect.arrayContaining([ExitCode.Ok, ExitCode.Usage, ExitCode.Internal]));
    expect(codes.length).toBeLessThan(EXIT_CODES.length);
  });

  it('probe lists no failed check, no hypervisor failure and no output file; only bench lists the output file', async () => {
    expect(listedCodes((await run(['probe', '--help'])).stdout)).not.toEqual(expect.arrayContaining([ExitCode.Failed]));
    for (const name of ['probe', 'demo']) expect(listedCodes((await run([name, '--help'])).stdout)).not.toContain(ExitCode.OutputError);
    expect(listedCodes((await run(['bench', '--help'])).stdout)).toContain(ExitCode.OutputError);
  });
});

describe('the bench sections, listed where users read them', () => {
  const ids = allSections().map((s) => s.id);

  it('bench --help lists every section --only accepts, in the registry\'s order', async () => {
    const help = words((await run(['bench', '--help'], WIDE_ENV)).stdout);
    expect(help).toContain(`--only <sections> comma-separated sections to run: ${ids.join(', ')} (default: all)`);
    for (const id of ids) expect((await run(['bench', '--only', id, '--help'], WIDE_ENV)).code).toBe(0);
    // And its description of the sections names every one, each on its own term-and-text line.
    const lines = (await run(['bench', '--help'], WIDE_ENV)).stdout.split('\n');
    const described = lines.flatMap((l) => /^ {2}([a-z]+) {2,}\S/.exec(l)?.[1] ?? []).filter((t) => !t.startsWith('-'));
    expect(described).toEqual(ids);
  });

  it('the README lists the same sections, in the same order, and its synopsis names no partial list', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const line = /^Bench sections \(`--only`.*in this order\): (.*)\.$/m.exec(readme)?.[1];
    expect(line?.split(', ').map((s) => s.replace(/`/g, ''))).toEqual(ids);
    expect(readme).not.toMatch(/--only [a-z]+,[a-z]/);
  });
});

describe('usage errors', () => {
  it('tsvmm alone prints a short usage on stderr, nothing on stdout, and exits 2; --help prints the help on stdout, exit 0', async () => {
    const bare = await run([], WIDE_ENV);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toBe("Usage: tsvmm <command> [options]\nCommands: probe, demo, bench\nRun 'tsvmm --help' for the commands and exit codes.\n");
    const help = await run(['--help'], WIDE_ENV);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toContain('Exit codes:');
  });

  it.each([
    [['--nope'], "tsvmm: unknown option '--nope' (the command comes first; commands: probe, demo, bench). Run 'tsvmm --help' for usage.\n"],
    [['-q'], "tsvmm: unknown option '-q' (the command comes first; commands: probe, demo, bench). Run 'tsvmm --help' for usage.\n"],
    [['nope'], "tsvmm: unknown command 'nope' (commands: probe, demo, bench). Run 'tsvmm --help' for usage.\n"],
    [['demo', '--nope'], "tsvmm demo: unknown option '--nope'. Run 'tsvmm demo --help' for usage.\n"],
    [['demo', '--backend'], "tsvmm demo: --backend needs a value. Run 'tsvmm demo --help' for usage.\n"],
    [['probe', 'kvm'], "tsvmm probe: unexpected argument 'kvm' (this command takes options only). Run 'tsvmm probe --help' for usage.\n"],
    [['probe', '--json=yes'], "tsvmm probe: --json takes no value. Run 'tsvmm probe --help' for usage.\n"],
    [['--help', '--bogus'], "tsvmm: unknown option '--bogus'. Run 'tsvmm --help' for usage.\n"],
    [['-v', '--nope'], "tsvmm: unknown option '--nope'. Run 'tsvmm --help' for usage.\n"],
    [['-V', '-x'], "tsvmm: unknown option '-x'. Run 'tsvmm --help' for usage.\n"],
    [['--help', 'probe'], "tsvmm: unexpected argument 'probe' (the command comes first: 'tsvmm probe --help'). Run 'tsvmm --help' for usage.\n"],
  ])('%j says so in the CLI\'s words, exit 2', async (argv, message) => {
    const r = await run(argv, WIDE_ENV);
    expect([r.code, r.stderr]).toEqual([2, message]);
  });
});

describe('repeated options', () => {
  it.each([
    [['probe', '--json', '--json'], /--json was given twice; give it once/],
    [['probe', '--backend', 'kvm', '--backend', 'software'], /--backend was given twice; give it once/],
    [['demo', '--backend=kvm', '--backend', 'software'], /--backend was given twice; give it once/],
    [['bench', '--json', 'a.json', '--json', '-'], /--json was given twice; give it once/],
    [['bench', '--quick', '--only', 'msix', '--quick'], /--quick was given twice; give it once/],
    [['probe', '-h', '--help'], /--help was given twice \(as -h, --help\); give it once/],
    [['bench', '--strict', '--strict', '--strict'], /--strict was given 3 times; give it once/],
  ])('%j is a usage error (exit 2) naming the option, before anything runs', async (argv, message) => {
    const r = await run(argv, { COLUMNS: '1000' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run 'tsvmm \w+ --help' for usage\.\n$/);
  });

  it.each([
    [['-h', '--help'], /^tsvmm: --help was given twice \(as -h, --help\); give it once/],
    [['--version', '--version'], /^tsvmm: --version was given twice; give it once/],
    [['-v', '-V'], /^tsvmm: --version was given twice; give it once/],
  ])('%j without a command is a usage error (exit 2) too, with nothing on stdout', async (argv, message) => {
    const r = await run(argv, { COLUMNS: '1000' });
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(message);
  });

  it('--help with --version prints the help, exit 0', async () => {
    const r = await run(['--help', '--version'], WIDE_ENV);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('Exit codes:');
  });
});

describe('the bench table', () => {
  /** Every metric a full run reports (on KVM), measured, with figures as wide as they come. */
  async function worstCase(): Promise<BenchResult> {
    const io = memoryIo();
    await main(['bench', '--quick', '--no-progress', '--json', '-'], io);
    const real = JSON.parse(io.stdout) as BenchResult;
    // A baseline is another metric, sometimes with a note: the longest name, with a long note.
    const longest = real.metrics.map((m) => m.name).reduce((a, b) => (b.length > a.length ? b : a));
    const metrics: Metric[] = real.metrics.map((m, i) =>
      withRatio({
        name: m.name,
        unit: m.unit,
        description: m.description,
        // Five-digit figures, ten-thousandfold ratios both ways, six-digit counts.
        value: m.unit === 'commits' ? (i % 2 ? 1 : 2048) : i % 2 ? 12345.678 : 1.234,
        // Counts of commits are single figures: no p99, no sample count.
        ...(m.unit === 'commits' ? {} : { p99: 98765.4, count: 100000, baselineP99: 99999.9, baselineCount: 100000 }),
        baseline: m.unit === 'commits' ? 2048 : i % 2 ? 1.234 : 12345.678,
        baselineName: `${longest} (one commit per retarget, measured alternately)`,
        ...(i % 3 === 0 ? { targetRatioMax: 0.01, targetDescription: 'batched ≥ 100× faster than per change' } : i % 3 === 1 ? { targetValueMax: 51, targetDescription: 'at most 51 commits (N/10)' } : {}),
      }),
    );
    return { ...real, metrics };
  }

  it('fits 100 columns with every metric measured and figures as wide as they come, whatever the terminal', async () => {
    const result = await worstCase();
    for (const width of [80, 200]) {
      const text = formatBenchTable(result, width);
      const table = text.split('\n\n')[0]!;
      expect(widest(table)).toBeLessThanOrEqual(100);
      expect(widest(text.slice(table.length))).toBeLessThanOrEqual(width);
      for (const m of result.metrics) expect(table).toContain(m.name);
    }
  }, 60_000);

  const result = (metrics: Metric[]): BenchResult => ({
    schema: BENCH_SCHEMA,
    metrics,
    distributions: [],
    scaling: [],
    notes: [],
    meta: { startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000, quick: true, host: 'test', node: 'v20' },
  });

  it('states every ratio one way, slower or faster (commits: more or fewer) than the baseline, and says so in the legend', () => {
    const m = (value: number, baseline: number, unit = 'ns', n: number | undefined = 100): Metric =>
      withRatio({ name: `x.${value}`, unit, value, baseline, baselineName: 'x.base', description: 'd', ...(n === undefined ? {} : { count: n, baselineCount: n }) });
    expect(ratioText(m(4.31, 1))).toBe('4.31× slower');
    expect(ratioText(m(1, 150))).toBe('150× faster');
    expect(ratioText(m(1, 2048, 'commits', undefined))).toBe('2048× fewer');
    expect(ratioText(m(3, 1, 'commits', undefined))).toBe('3× more');
    expect(ratioText(m(1.003, 1))).toBe('1.00× (same)');
    expect(ratioText(m(1, 1))).toBe('1.00× (same)');
    const text = formatBenchTable(result([m(4.31, 1), m(1, 150), m(1, 2048, 'commits', undefined)]), 100);
    const cells = text.split('\n').flatMap((l) => /(≈?[\d.]+× (slower|faster|more|fewer))/.exec(l)?.[1] ?? []);
    expect(cells).toEqual(['4.31× slower', '150× faster', '2048× fewer']);
    expect(text).not.toMatch(/\d× {2}/);
    expect(words(text)).toContain('in every row as N× slower or N× faster (commits: more or fewer)');
  });

  it('marks a ratio from fewer than 5 samples on a side as indicative (≈), its n beside it', () => {
    const quick = withRatio({ name: 'msix.enable_2048', unit: 'ms', value: 18.7, baseline: 0.78, baselineName: 'msix.enable_2048.per_change', description: 'd', count: 1, baselineCount: 1 });
    expect(ratioText(quick)).toBe('≈24.0× slower');
    expect(ratioText({ ...quick, count: 5, baselineCount: 4 })).toBe('≈24.0× slower');
    expect(ratioText({ ...quick, count: 5, baselineCount: 5 })).toBe('24.0× slower');
    const row = formatBenchTable(result([quick]), 100).split('\n').find((l) => l.startsWith('msix.enable_2048 '))!;
    expect(row).toMatch(/ 1 +≈24\.0× slower/);
    expect(words(formatBenchTable(result([quick]), 100))).toContain('≈: indicative only, fewer than 5 samples on a side (see n)');
  });

  it('says 1 commit and 2 commits, 1 metric and 2 metrics', () => {
    const one = withRatio({ name: 'msix.enable_2048.commits', unit: 'commits', value: 1, baseline: 2048, baselineName: 'msix.enable_2048.per_change', description: 'd', targetValueMax: 1 });
    const skipped = (name: string): Metric => ({ name, unit: 'µs', value: null, baseline: null, ratio: null, description: 'd', skipped: 'no KVM here' });
    const text = formatBenchTable(result([one, skipped('delivery.irqfd')]), 200);
    expect(text).toMatch(/^msix\.enable_2048\.commits\s+1 commit\s/m);
    expect(text).toMatch(/^ {2}vs msix\.enable_2048\.per_change\s+2048 commits/m);
    expect(text).toContain('≤ 1 commit: met');
    expect(text).not.toMatch(/\b1 commits\b/);
    expect(text).toMatch(/1 metric not measured, its target not judged\./);
    expect(formatBenchTable(result([one, skipped('a.b'), skipped('a.c')]), 200)).toMatch(/2 metrics not measured, their targets not judged\./);
  });

  it('says 1 commit in the HTML report and in a comparison, 1 round and 1 run', () => {
    const one = withRatio({ name: 'msix.enable_2048.commits', unit: 'commits', value: 1, baseline: 2048, baselineName: 'msix.enable_2048.per_change', description: 'd' });
    const html = renderReport(result([one]));
    expect(html).toContain('<td>1 commit</td>');
    expect(html).toContain('2048 commits');
    const c: BenchComparison = {
      schema: COMPARISON_SCHEMA,
      metrics: [{ name: one.name, unit: 'commits', value: 1, baseline: 1, ratio: 1, count: 1, baselineCount: 1, values: [1], baselineValues: [1], description: 'd' }],
      onlyThis: [],
      onlyOther: [],
      unmeasured: [],
      runs: [{ round: 1, section: 'msix', build: 'other', ok: false, exitCode: null, failed: 'killed' }],
      notes: [],
      meta: {
        startedAt: '2026-01-01T00:00:00.000Z',
        durationMs: 1,
        quick: true,
        host: 'test',
        node: 'v20',
        rounds: 1,
        sections: ['msix'],
        runDeadlineMs: 1000,
        this: { bin: 'a' },
        other: { bin: 'b', dir: '/tmp/b' },
      },
    };
    const text = formatComparisonTable(c, 1000);
    expect(text).toMatch(/^msix\.enable_2048\.commits\s+1 commit\s+1 commit\s/m);
    expect(text).toContain('Compared 1 round of msix');
    expect(comparisonVerdict(c).lines[0]).toMatch(/^tsvmm bench --against: 1 of 1 run failed /);
  });

  it('shows a p99 only from 100 samples up, and says so', () => {
    const metric = (name: string, count: number): Metric => withRatio({ name, unit: 'µs', value: 2, p99: 7.77, count, baseline: null, description: 'd' });
    const text = formatBenchTable(result([metric('a.few', 99), metric('a.many', 100)]), 200);
    expect(text).toMatch(/^a\.few\s+2 µs\s+99\s*$/m);
    expect(text).toMatch(/^a\.many\s+2 µs\s+7\.77 µs\s+100\s*$/m);
    expect(text).toContain('shown where n ≥ 100');
  });
});
