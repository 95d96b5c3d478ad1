import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from './command';
import { CliFailure, UsageError } from './errors';
import { ExitCode } from './exit-codes';
import { createProgress } from '../bench/progress';
import { writeReport } from '../bench/report';
import type { BenchResult, Metric } from '../bench/result';
import { runBench } from '../bench/run-bench';
import { allSections } from '../bench/sections';

function fmt(n: number | null | undefined, unit = ''): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Number.isInteger(n)) return unit ? `${n} ${unit}` : String(n);
  const s = Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toPrecision(3);
  return unit ? `${s} ${unit}` : s;
}

function ratioText(m: Metric): string {
  if (m.ratio === null) return '';
  // Below 1 the interesting figure is the speed-up (batched is 1/ratio times faster).
  if (m.ratio >= 1) return `${fmt(m.ratio)}×`;
  return `${fmt(m.ratio)}× (${fmt(1 / m.ratio)}× ${m.unit === 'commits' ? 'fewer' : 'faster'})`;
}

export function formatBenchTable(result: BenchResult): string {
  const header = ['metric', 'median', 'p99', 'n', 'baseline (median)', 'ratio', 'target'];
  const rows = result.metrics.map((m) => [
    m.name,
    m.value === null ? 'skipped' : fmt(m.value, m.unit),
    m.p99 === undefined ? '' : fmt(m.p99, m.unit),
    m.count === undefined ? '' : String(m.count),
    m.baselineName ? `${m.baselineName} ${fmt(m.baseline, m.unit)}` : '',
    ratioText(m),
    m.target ? `${m.target.description}: ${m.target.met ? 'met' : 'MISSED'}` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const skipped = result.metrics.filter((m) => m.skipped);
  if (skipped.length) out.push('', ...skipped.map((m) => `${m.name}: not measured: ${m.skipped}`));
  const missed = result.metrics.filter((m) => m.target && !m.target.met);
  const targets = result.metrics.filter((m) => m.target);
  out.push('', `Targets: ${targets.length - missed.length} of ${targets.length} met${missed.length ? ` (missed: ${missed.map((m) => m.name).join(', ')})` : ''}.`);
  if (result.notes.length) out.push('', ...result.notes.map((n) => `note: ${n}`));
  out.push('', `${result.meta.quick ? 'Quick run' : 'Full run'} on ${result.meta.host}, ${(result.meta.durationMs / 1000).toFixed(1)} s.`);
  return `${out.join('\n')}\n`;
}

/** A file that cannot be written is the user's to fix (path, permissions): one line, exit 5. */
function writeOrFail<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliFailure(`tsvmm bench: cannot write ${what}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '), ExitCode.BackendError);
  }
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure irqfd against its alternatives, side by side in one run',
  usage: 'tsvmm bench [--quick] [--json <file|->] [--report <dir>] [--only <sections>] [--strict]',
  details:
    'Every benchmark runs against its baseline alternately in the same run (the order rotates every round), and is reported as a ' +
    'median and p99 with run counts, and as a ratio to the baseline:\n' +
    '  delivery  signal → vector in the local APIC IRR on KVM: irqfd from Node vs a raw eventfd write from C;\n' +
    '            the user-space relay vs a C relay thread (KVM_SIGNAL_MSI); relay vs irqfd  (µs)\n' +
    '  routes    reprogramming 2048 live routes (and setting 2048 up from nothing): one batched commit vs one\n' +
    '            commit per change  (ms)\n' +
    '  msix      cost per guest MSI-X table access vs a bare DataView access  (ns); commits per enable\n' +
    'Targets (issue 3 and 4) are printed with each ratio and whether they are met; --strict exits 1 when one is missed.\n' +
    'The C floors are compiled with `cc` into a cache under the temp directory. KVM sections are skipped, ' +
    'saying why, where /dev/kvm is unavailable. Progress goes to stderr.\n\n' +
    'JSON (--json): { "metrics": [ { "name", "unit", "value", "baseline", "ratio", "p99", "count", ' +
    '"baselineName", "target", ... } ], "meta": {...} }. With --json -, stdout carries only the JSON and the table goes to stderr.',
  options: [
    { name: 'quick', type: 'boolean', description: 'few samples, for tests and a first look (seconds, not minutes)' },
    { name: 'json', type: 'string', valueName: 'file|-', description: 'write the metrics as JSON to a file (- for stdout)' },
    { name: 'report', type: 'string', valueName: 'dir', description: 'write a self-contained HTML report with plots to dir/index.html' },
    { name: 'only', type: 'string', valueName: 'sections', description: 'comma-separated sections to run: delivery, routes, msix (default: all)' },
    { name: 'strict', type: 'boolean', description: 'exit 1 when a target is missed' },
    { name: 'no-progress', type: 'boolean', description: 'no progress display on stderr' },
    { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
  ],
  jsonErrors: (opts) => opts.json === '-',
  async run(opts, { io, hooks }) {
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
    const jsonTarget = typeof opts.json === 'string' ? opts.json : undefined;
    const quick = opts.quick === true;
    const progress = createProgress(io, chosen.reduce((n, s) => n + s.steps, 0), opts['no-progress'] !== true);
    const result = await runBench(chosen, quick, progress, hooks.kvmProbe);

    const table = formatBenchTable(result);
    if (jsonTarget === '-') io.err(table);
    else io.out(table);
    const json = `${JSON.stringify(result, null, 2)}\n`;
    if (jsonTarget === '-') io.out(json);
    else if (jsonTarget !== undefined) {
      writeOrFail(`the metrics to ${jsonTarget}`, () => {
        fs.mkdirSync(path.dirname(path.resolve(jsonTarget)), { recursive: true });
        fs.writeFileSync(jsonTarget, json);
      });
      io.err(`Metrics written to ${jsonTarget}\n`);
    }
    if (typeof opts.report === 'string') {
      const dir = opts.report;
      const file = writeOrFail(`the report to ${dir}`, () => writeReport(dir, result));
      io.err(`Report written to ${file}\n`);
    }
    const missed = result.metrics.some((m) => m.target && !m.target.met);
    return opts.strict === true && missed ? ExitCode.Failed : ExitCode.Ok;
  },
};
