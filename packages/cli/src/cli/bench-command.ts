import * as fs from 'node:fs';
import Table from 'cli-table3';
import type { ParsedOptions } from './args';
import type { Command, CommandContext } from './command';
import { UsageError } from './errors';
import { ExitCode, exitCodeDoc } from './exit-codes';
import { errText, errWidth, outWidth } from './io';
import { type BenchComparison, COMPARISON_SCHEMA, DEFAULT_ROUNDS, RUN_DEADLINE_MS, checkoutBin, compareBuilds, thisBin } from '../bench/against';
import { createProgress } from '../bench/progress';
import { writeReport } from '../bench/report';
import { BENCH_SCHEMA, type BenchResult, type Metric } from '../bench/result';
import { runBench } from '../bench/run-bench';
import { allSections } from '../bench/sections';
import { RATIO_MIN_SAMPLES, directions, ratioText } from '../bench/ratio-text';
import { DELIVERY_DEADLINE_MS } from '../bench/sections/delivery';
import { COMPILE_DEADLINE_MS } from '../bench/native';
import { prepareOutputDirectory, prepareOutputFile, writeOrFail } from '../output/paths';
import { count, unitFor } from '../output/plural';
import { DEFAULT_TEXT_WIDTH, wrapLine, wrapText } from '../output/wrap';
import { P99_MIN_SAMPLES, showsP99 } from '../bench/stats';

/** The widest the bench tables may be, whatever the terminal: they are read in terminals, logs and CI pages alike. */
export const TABLE_WIDTH = 100;

/** A plain-text table: columns two spaces apart, a dashed rule under the header, no colours; cells may hold several lines. */
function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const none = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '' };
  const table = new Table({
    head: [...header],
    chars: { ...none, left: '', 'left-mid': '', mid: '-', 'mid-mid': '  ', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  table.push(...rows.map((r) => [...r]));
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd());
}

/** The columns a cell's lines take. */
const cellWidth = (cell: string): number => Math.max(0, ...cell.split('\n').map((l) => l.length));

/**
 * `rows` with the cells of column `col` wrapped so that the whole table, columns two apart, fits
 * {@link TABLE_WIDTH} (the column keeps at least `min`).
 */
function fitColumn(header: readonly string[], rows: readonly string[][], col: number, min: number): string[][] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cellWidth(r[i] ?? ''))));
  const others = widths.reduce((a, w, i) => (i === col ? a : a + w), 0) + 2 * (header.length - 1);
  const room = Math.max(min, TABLE_WIDTH - others);
  return rows.map((r) => r.map((c, i) => (i === col && cellWidth(c) > room ? c.split('\n').flatMap((l) => wrapLine(l, room)).join('\n') : c)));
}

function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toPrecision(3);
}

function fmt(n: number | null | undefined, unit = ''): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return unit ? `${num(n)} ${unitFor(n, unit)}` : num(n);
}

/** A limit as people write it: 1.5, 20, 100 (three significant digits, no trailing zeros). */
const limit3 = (n: number): string => String(Number(n.toPrecision(3)));

/** A target in the table's own terms (`≤ 1.5×`, `≥ 100× faster`, `≤ 1 commit`), with whether it was met. */
function targetText(m: Metric): string {
  const t = m.target;
  if (!t) return '';
  const limit =
    t.ratioMax !== undefined
      ? t.ratioMax >= 1
        ? `≤ ${limit3(t.ratioMax)}× ${directions(m)[0]}`
        : `≥ ${limit3(1 / t.ratioMax)}× ${directions(m)[1]}`
      : t.valueMax !== undefined
        ? `≤ ${fmt(t.valueMax, m.unit)}`
        : t.description;
  return `${limit}: ${t.met ? 'met' : 'MISSED'}`;
}

/** The names of `metrics` by `reason`, in order: a host without KVM gives the same reason for a dozen metrics, printed once. */
function byReason(metrics: readonly Metric[], reason: (m: Metric) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of metrics) out.set(reason(m), [...(out.get(reason(m)) ?? []), m.name]);
  return out;
}

/**
 * How a finished run ends: its exit code and the lines (for stderr) that say why when it is not 0.
 * A failed measurement (a delivery that never came within its deadline, a check of the run that did
 * not hold) always fails the run; with `strict`, so does a missed target or a metric not measured here.
 */
export function benchVerdict(result: BenchResult, strict: boolean): { readonly exitCode: ExitCode; readonly lines: readonly string[] } {
  const lines = [...byReason(result.metrics.filter((m) => m.failed !== undefined), (m) => m.failed!)].map(
    ([why, names]) => `tsvmm bench: failed: ${why}; no figures for ${names.join(', ')}.`,
  );
  const missed = result.metrics.filter((m) => m.target && !m.target.met);
  const unmeasured = result.metrics.filter((m) => m.skipped !== undefined);
  if (strict && (missed.length || unmeasured.length)) {
    const parts = [
      ...(missed.length ? [`missed: ${missed.map((m) => m.name).join(', ')}`] : []),
      ...(unmeasured.length ? [`not measured here: ${unmeasured.map((m) => m.name).join(', ')}`] : []),
    ];
    lines.push(`tsvmm bench --strict: failed (${parts.join('; ')}).`);
  }
  return { exitCode: lines.length ? ExitCode.Failed : ExitCode.Ok, lines };
}

/**
 * The run as text: a table at most {@link TABLE_WIDTH} columns wide (a metric with a baseline takes
 * two lines, the second `vs <baseline>` with the baseline's figures; p99 only where n ≥ 100), then
 * the reasons, the targets' tally, the notes and the run, wrapped to `width` columns.
 */
export function formatBenchTable(result: BenchResult, width = DEFAULT_TEXT_WIDTH): string {
  const header = ['metric', 'median', 'p99', 'n', 'ratio', 'target'];
  const nameWidth = Math.max(...result.metrics.map((m) => m.name.length));
  const p99 = (value: number | undefined, n: number | undefined, unit: string): string => (value !== undefined && showsP99(n) ? fmt(value, unit) : '');
  const rows = result.metrics.map((m) => {
    const value = m.failed !== undefined ? 'FAILED' : m.value === null ? 'skipped' : fmt(m.value, m.unit);
    const main = [m.name, value, p99(m.p99, m.count, m.unit), m.count === undefined ? '' : String(m.count), ratioText(m), targetText(m)];
    if (!m.baselineName || m.value === null) return main;
    const below = [`  vs ${m.baselineName}`, fmt(m.baseline, m.unit), p99(m.baselineP99, m.baselineCount, m.unit), m.baselineCount === undefined ? '' : String(m.baselineCount), '', ''];
    return main.map((c, i) => `${c}\n${below[i]}`);
  });
  // The baselines' notes wrap first, down to `  vs ` and the longest metric name; then the targets, down to 8 columns.
  const out = textTable(header, fitColumn(header, fitColumn(header, rows, 0, nameWidth + 5), header.length - 1, 8));
  const para = (text: string): string[] => wrapText(text, width, { first: '', rest: '  ' });
  out.push(
    '',
    ...para(
      `median: of the samples; p99: the 99th percentile (nearest rank), shown where n ≥ ${P99_MIN_SAMPLES}; n: samples; ` +
        "ratio: the median against its baseline's (the line under it), in every row as N× slower or N× faster (commits: more or fewer); " +
        `≈: indicative only, fewer than ${RATIO_MIN_SAMPLES} samples on a side (see n). Targets are judged on the ratio, or on the figure itself.`,
    ),
  );
  const skipped = result.metrics.filter((m) => m.skipped !== undefined);
  const failed = result.metrics.filter((m) => m.failed !== undefined);
  const failures = byReason(failed, (m) => m.failed!);
  if (failures.size) out.push('', ...[...failures].flatMap(([why, names]) => para(`FAILED (${names.join(', ')}): ${why}`)));
  const notMeasured = byReason(skipped, (m) => m.skipped!);
  if (notMeasured.size) out.push('', ...[...notMeasured].flatMap(([why, names]) => para(`Not measured (${names.join(', ')}): ${why}`)));
  const missed = result.metrics.filter((m) => m.target && !m.target.met);
  const targets = result.metrics.filter((m) => m.target);
  const unmeasured = [
    ...(failed.length ? [`${count(failed.length, 'metric', 'metrics')} failed`] : []),
    ...(skipped.length ? [`${count(skipped.length, 'metric', 'metrics')} not measured`] : []),
  ];
  const unjudged = unmeasured.length ? `; ${unmeasured.join(', ')}, ${failed.length + skipped.length === 1 ? 'its target' : 'their targets'} not judged` : '';
  out.push(
    '',
    ...para(
      `Targets: ${targets.length - missed.length} of ${targets.length} met${missed.length ? ` (missed: ${missed.map((m) => m.name).join(', ')})` : ''}${unjudged}.`,
    ),
  );
  if (result.notes.length) out.push('', ...result.notes.flatMap((n) => wrapText(`note: ${n}`, width, { first: '', rest: '      ' })));
  out.push('', ...para(`${result.meta.quick ? 'Quick run' : 'Full run'} on ${result.meta.host}, ${(result.meta.durationMs / 1000).toFixed(1)} s.`));
  return `${out.join('\n')}\n`;
}

/** How a comparison ends: exit 1, with a line for stderr, when a run failed (it counts for nothing). */
export function comparisonVerdict(c: BenchComparison): { readonly exitCode: ExitCode; readonly lines: readonly string[] } {
  const failed = c.runs.filter((r) => !r.ok);
  if (!failed.length) return { exitCode: ExitCode.Ok, lines: [] };
  const first = failed[0]!;
  return {
    exitCode: ExitCode.Failed,
    lines: [
      `tsvmm bench --against: ${failed.length} of ${count(c.runs.length, 'run', 'runs')} failed (first: round ${first.round}, ${first.section}, ${first.build} build: ${first.failed}).`,
    ],
  };
}

/** A comparison as text: a table at most {@link TABLE_WIDTH} columns wide, then the rest wrapped to `width` columns. */
export function formatComparisonTable(c: BenchComparison, width = DEFAULT_TEXT_WIDTH): string {
  const header = ['metric', 'this build', 'other build', 'this / other', 'runs'];
  const rows = c.metrics.map((m) => [m.name, fmt(m.value, m.unit), fmt(m.baseline, m.unit), m.ratio === null ? '—' : `${fmt(m.ratio)}×`, `${m.count} / ${m.baselineCount}`]);
  const para = (text: string, indent = ''): string[] => wrapText(text, width, { first: indent, rest: `${indent}  ` });
  const out = rows.length ? textTable(header, fitColumn(header, rows, 0, 20)) : ['No metric was measured by both builds.'];
  if (c.onlyThis.length) out.push('', ...para(`Only in this build: ${c.onlyThis.join(', ')}`));
  if (c.onlyOther.length) out.push('', ...para(`Only in the other build: ${c.onlyOther.join(', ')}`));
  const why = new Map<string, string[]>();
  for (const u of c.unmeasured) {
    const reason = [...(u.this !== undefined ? [`this build: ${u.this}`] : []), ...(u.other !== undefined ? [`other build: ${u.other}`] : [])].join('; ');
    why.set(reason, [...(why.get(reason) ?? []), u.name]);
  }
  if (why.size) out.push('', ...[...why].flatMap(([reason, names]) => para(`Not compared (${names.join(', ')}): ${reason}`)));
  const failed = c.runs.filter((r) => !r.ok);
  if (failed.length) {
    out.push('', 'Failed runs (their figures count for nothing):', ...failed.flatMap((r) => para(`round ${r.round}, ${r.section}, ${r.build} build: ${r.failed}`, '  ')));
  }
  if (c.notes.length) out.push('', ...c.notes.flatMap((n) => wrapText(`note: ${n}`, width, { first: '', rest: '      ' })));
  const other = c.meta.other;
  const which = [other.version, other.commit].filter((x) => x !== undefined).join(', ');
  out.push(
    '',
    ...para("this / other: this build's figure over the other's, each the median of its runs' medians; below 1, this build's figure is lower (faster, or fewer commits)."),
    ...para(
      `Compared ${count(c.meta.rounds, 'round', 'rounds')} of ${c.meta.sections.join(', ')} (${c.meta.quick ? 'quick' : 'full'} runs, the two builds' order swapped every round) against ${other.dir}${
        which ? ` (${which})` : ''
      } on ${c.meta.host}, ${(c.meta.durationMs / 1000).toFixed(1)} s.`,
    ),
  );
  return `${out.join('\n')}\n`;
}

/** `bench --against <dir>`: the chosen sections of both builds, in child processes, interleaved. */
async function runAgainst(opts: ParsedOptions, sections: readonly string[], { io }: CommandContext): Promise<ExitCode> {
  for (const other of ['report', 'strict'] as const) {
    if (opts[other] !== undefined) throw new UsageError('bench', `--${other} does not apply to --against, which compares two builds' figures`);
  }
  const otherDir = String(opts.against);
  const otherBin = checkoutBin(otherDir);
  const quick = opts.quick === true;
  const rounds = opts.rounds === undefined ? (quick ? DEFAULT_ROUNDS.quick : DEFAULT_ROUNDS.full) : Number(opts.rounds);
  const runDeadlineMs = quick ? RUN_DEADLINE_MS.quick : RUN_DEADLINE_MS.full;
  const jsonTarget = typeof opts.json === 'string' ? opts.json : undefined;
  const jsonFile = jsonTarget !== undefined && jsonTarget !== '-' ? jsonTarget : undefined;
  if (jsonFile !== undefined) prepareOutputFile('bench', `the comparison to ${jsonFile}`, jsonFile);
  const progress = createProgress(io, rounds * sections.length * 2, opts['no-progress'] !== true);
  const comparison = await compareBuilds({ sections, quick, rounds, runDeadlineMs, thisBin: thisBin(), otherDir, otherBin, progress });

  showTable(io, jsonTarget, (width) => formatComparisonTable(comparison, width));
  const json = writeJson(io, jsonFile, comparison, 'comparison', 'Comparison');
  if (jsonTarget === '-') io.out(json);
  const verdict = comparisonVerdict(comparison);
  for (const line of verdict.lines) errText(io, line);
  return verdict.exitCode;
}

/** Prints the table on stdout, or on stderr when the JSON goes to stdout (`--json -`), at that stream's width. */
function showTable(io: CommandContext['io'], jsonTarget: string | undefined, format: (width: number) => string): void {
  if (jsonTarget === '-') io.err(format(errWidth(io)));
  else io.out(format(outWidth(io)));
}

/**
 * The JSON document of `value`; written to `jsonFile` first when there is one (`what` names it in
 * the error if the write fails, `label` in the confirmation on stderr).
 */
function writeJson(io: CommandContext['io'], jsonFile: string | undefined, value: unknown, what: string, label: string): string {
  const json = `${JSON.stringify(value, null, 2)}\n`;
  if (jsonFile !== undefined) {
    writeOrFail('bench', `the ${what} to ${jsonFile}`, () => fs.writeFileSync(jsonFile, json));
    errText(io, `${label} written to ${jsonFile}`);
  }
  return json;
}

/** A whole number from `min` to `max`, or a usage error naming the option. */
function wholeNumber(opts: ParsedOptions, name: string, min: number, max: number): void {
  const v = opts[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError('bench', `--${name} takes a whole number from ${min} to ${max}, got '${String(v)}'`);
  }
}

/** What each section measures, for `bench --help`, by section id. */
const SECTION_HELP: Readonly<Record<string, string>> = {
  delivery:
    'signal → vector in the local APIC IRR on KVM: irqfd from Node vs a raw eventfd write from C; the user-space relay vs a C relay thread (KVM_SIGNAL_MSI); relay vs irqfd (µs)',
  routes: 'reprogramming 2048 live routes (and setting 2048 up from nothing): one batched commit vs one commit per change (ms); the setup per route vs its system calls made raw (µs)',
  retarget:
    'a guest moving N live vectors between vCPUs one at a time, on a partition with coalesced retargets vs one commit per retarget: commits, and the storm’s wall time (ms)',
  completion: 'a Linux AIO file read whose completion eventfd is an irqfd route’s event, completing into IRR, vs the same route signalled from Node (µs)',
  msix: 'cost per guest MSI-X table access vs a bare DataView access (ns); commits per enable',
};

/**
 * The sections of `bench --help`, one a line in the registry's order (what `--only` accepts): a
 * section without a sentence here is listed by its title, so none is ever left out.
 */
function sectionList(): string {
  const sections = allSections();
  const w = Math.max(...sections.map((s) => s.id.length));
  return sections.map((s) => `  ${s.id.padEnd(w)}  ${SECTION_HELP[s.id] ?? s.title}\n`).join('');
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure irqfd against its alternatives, side by side in one run',
  usage:
    'tsvmm bench [--quick] [--json <file|->] [--report <dir>] [--only <sections>] [--strict] [--no-progress]\n' +
    '       tsvmm bench --against <dir> [--rounds <n>] [--quick] [--json <file|->] [--only <sections>] [--no-progress]',
  details:
    'Every benchmark runs against its baseline alternately in the same run (the order rotates every round), and is reported as a ' +
    `median with its sample count, the p99 where there are at least ${P99_MIN_SAMPLES} samples (below that the nearest-rank p99 is about the largest sample), ` +
    'and as a ratio to the baseline:\n' +
    sectionList() +
    'Targets (delivery: irqfd within 1.5× of a raw write from C, the relay within 2× of a C relay thread; routes: one ' +
    'batch at least 100× faster than one commit per change; msix: a table access within 20× of a bare DataView access, Enable in one commit; ' +
    'retarget: a storm of N coalesced retargets in at most N/10 commits) are printed with each ratio and ' +
    'whether they are met; --strict exits 1 when one is missed or could not be measured here.\n' +
    'The C floors are compiled with `cc` into a cache under the temp directory. KVM sections are skipped, ' +
    `saying why, where /dev/kvm is unavailable. Every wait has a deadline (a delivery ${DELIVERY_DEADLINE_MS / 1000} s, the compiler ${COMPILE_DEADLINE_MS / 1000} s): one that ` +
    'passes is reported as FAILED with what was waited for, the section stops, the others still run, and the run exits 1. ' +
    `Progress goes to stderr. The table is at most ${TABLE_WIDTH} columns wide; the text around it wraps to the terminal.\n\n` +
    '--against <dir> compares this build with the build of another checkout of this repository (built: <dir>/packages/cli/dist/bin.js). ' +
    `For each of --rounds rounds (default ${DEFAULT_ROUNDS.quick} with --quick, ${DEFAULT_ROUNDS.full} otherwise) and each section, both builds run the section ` +
    'in child processes, one after the other, the order swapped every round (ABBA), so that noise on the machine hits both alike. For each metric both ' +
    "measured it prints this build's median, the other's and their ratio, and it names the metrics only one of them has. Each run has a deadline " +
    `(${RUN_DEADLINE_MS.quick / 1000} s with --quick, ${RUN_DEADLINE_MS.full / 1000} s otherwise), after which it is killed with its process group; a run that fails ` +
    'is reported with its round and counts for nothing, and the comparison exits 1. Flags the other build does not know are left out and said so.\n\n' +
    `JSON (--json): { "schema": "${BENCH_SCHEMA}", "metrics": [ { "name", "unit", "value", "baseline", "ratio", "p99", "count", ` +
    '"baselineName", "target", ... } ], "distributions", "scaling", "notes", "meta" }. With --json -, stdout carries only the JSON and the table goes to stderr. ' +
    `With --against: { "schema": "${COMPARISON_SCHEMA}", "metrics": [ { "name", "unit", "value", "baseline", "ratio", "count", "baselineCount", ` +
    '"values", "baselineValues", ... } ], "onlyThis", "onlyOther", "unmeasured", "runs", "notes", "meta" }, where value is this build\'s and baseline the other\'s. ' +
    'Both are described by JSON Schemas in this package: schemas/bench.schema.json and schemas/bench-against.schema.json.',
  exitCodes: [
    { code: ExitCode.Ok, meaning: 'the run finished and every measurement held (--strict: and every target was met)' },
    {
      code: ExitCode.Failed,
      meaning: 'a measurement failed (a delivery or wait passed its deadline); --strict: a target was missed or not measured here; --against: a run failed',
    },
    exitCodeDoc(ExitCode.Usage),
    exitCodeDoc(ExitCode.BackendError),
    exitCodeDoc(ExitCode.OutputError),
    exitCodeDoc(ExitCode.IoError),
    exitCodeDoc(ExitCode.Internal),
  ],
  options: [
    { name: 'quick', type: 'boolean', description: 'few samples, for tests and a first look (seconds, not minutes)' },
    { name: 'json', type: 'string', valueName: 'file|-', description: 'write the metrics as JSON to a file (- for stdout)' },
    { name: 'report', type: 'string', valueName: 'dir', description: 'write a self-contained HTML report with plots to dir/index.html' },
    {
      name: 'only',
      type: 'string',
      valueName: 'sections',
      // From the sections registry, so that a section added there is listed here.
      description: `comma-separated sections to run: ${allSections()
        .map((s) => s.id)
        .join(', ')} (default: all)`,
    },
    { name: 'strict', type: 'boolean', description: 'exit 1 when a target is missed or a metric could not be measured here' },
    { name: 'no-progress', type: 'boolean', description: 'no progress display on stderr' },
    { name: 'against', type: 'string', valueName: 'dir', description: 'compare with the build of another checkout, the two run in turn (see below)' },
    { name: 'rounds', type: 'number', valueName: 'n', description: `rounds of --against (default ${DEFAULT_ROUNDS.quick} with --quick, ${DEFAULT_ROUNDS.full} otherwise)` },
    { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
  ],
  jsonErrors: (opts) => opts.json === '-',
  async run(opts, ctx) {
    const { io, hooks } = ctx;
    const sections = allSections();
    let chosen = sections;
    if (opts.only !== undefined) {
      const names = String(opts.only)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !sections.some((s) => s.id === n));
      if (unknown.length || names.length === 0) {
        throw new UsageError('bench', `--only takes sections from: ${sections.map((s) => s.id).join(', ')} (got '${String(opts.only)}')`);
      }
      chosen = sections.filter((s) => names.includes(s.id));
    }
    wholeNumber(opts, 'rounds', 1, 100);
    if (opts.against !== undefined) return runAgainst(opts, chosen.map((s) => s.id), ctx);
    if (opts.rounds !== undefined) throw new UsageError('bench', '--rounds applies only to --against');
    const jsonTarget = typeof opts.json === 'string' ? opts.json : undefined;
    const jsonFile = jsonTarget !== undefined && jsonTarget !== '-' ? jsonTarget : undefined;
    const reportDir = typeof opts.report === 'string' ? opts.report : undefined;
    if (jsonFile !== undefined) prepareOutputFile('bench', `the metrics to ${jsonFile}`, jsonFile);
    if (reportDir !== undefined) prepareOutputDirectory('bench', `the report to ${reportDir}`, reportDir);
    const quick = opts.quick === true;
    const progress = createProgress(io, chosen.reduce((n, s) => n + s.steps, 0), opts['no-progress'] !== true);
    const result = await runBench(chosen, quick, progress, hooks.backends);

    showTable(io, jsonTarget, (width) => formatBenchTable(result, width));
    // Files first: should one fail after all, stdout under `--json -` still holds a single JSON document (the error).
    const json = writeJson(io, jsonFile, result, 'metrics', 'Metrics');
    if (reportDir !== undefined) {
      const file = writeOrFail('bench', `the report to ${reportDir}`, () => writeReport(reportDir, result));
      errText(io, `Report written to ${file}`);
    }
    if (jsonTarget === '-') io.out(json);
    const verdict = benchVerdict(result, opts.strict === true);
    for (const line of verdict.lines) errText(io, line);
    return verdict.exitCode;
  },
};
