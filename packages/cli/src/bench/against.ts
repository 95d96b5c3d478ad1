/**
 * `tsvmm bench --against <dir>`: this build's bench against another checkout's, each section run
 * as a child process of either build in turn, the order swapped every round (ABBA), so that machine
 * noise (other load, CPU frequency, a warm page cache) hits both builds alike. A figure is the
 * median, over the rounds, of the medians each run reported; the ratio is this build's over the
 * other's.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stalled } from '../deadline';
import { UsageError } from '../cli/errors';
import { type ChildOutcome, runNodeChild } from './child-run';
import type { Progress } from './progress';
import type { BenchResult, Metric, RunMeta } from './result';
import { hostLine } from './run-bench';
import { roundOrder, summarize } from './stats';

/** The `schema` of a comparison document; the number changes only when a field changes meaning or goes away. */
export const COMPARISON_SCHEMA = 'tsvmm-bench-against/1';

/** Rounds when `--rounds` is not given. */
export const DEFAULT_ROUNDS = { quick: 3, full: 7 } as const;

/**
 * How long one run of one section may take before it is killed. A healthy `--quick` section takes
 * seconds and a full one well under a minute (the delivery rounds are bounded at 20 s and 120 s,
 * the C compiler at 30 s); the margins are for a loaded machine, not for a run that stopped.
 */
export const RUN_DEADLINE_MS = { quick: 120_000, full: 600_000 } as const;

/** How long the other build may take to print its `--help` or `--version`. */
export const PROBE_DEADLINE_MS = 30_000;

/** The two builds, in the order of the first round. */
export const BUILDS: readonly Build[] = ['this', 'other'];
/** Which of the two builds: the one running the comparison, or the one at `--against <dir>`. */
export type Build = 'this' | 'other';

/** One figure both builds measured. */
export interface ComparedMetric {
  /** The bench's metric name, e.g. `msix.table_write`. */
  readonly name: string;
  /** The unit of `value` and `baseline` (`µs`, `ns`, `ms`, `commits`): the bench's. */
  readonly unit: string;
  /** This build's figure: the median of its runs' figures. */
  readonly value: number;
  /** The other build's figure, the same way. */
  readonly baseline: number;
  /** value / baseline (null when the other's figure is 0): below 1, this build's figure is lower. */
  readonly ratio: number | null;
  /** Runs of this build that measured it. */
  readonly count: number;
  /** Runs of the other build that measured it. */
  readonly baselineCount: number;
  /** This build's figure in each run that measured it, in the order they ran. */
  readonly values: readonly number[];
  /** The other build's figures, the same way. */
  readonly baselineValues: readonly number[];
  /** What it measures, as this build describes it. */
  readonly description: string;
}

/** A metric both builds report that one or both did not measure: why, per build. */
export interface UnmeasuredMetric {
  /** The bench's metric name. */
  readonly name: string;
  /** Why this build has no figure (its `skipped` or `failed` reason); absent when it has one. */
  readonly this?: string;
  /** Why the other build has none. */
  readonly other?: string;
}

/** One child run, in the order they ran. */
export interface ComparisonRun {
  /** Its round, from 1. */
  readonly round: number;
  /** The section it ran (`--only <section>`). */
  readonly section: string;
  /** Which build ran. */
  readonly build: Build;
  /** Whether it printed a bench document (its metrics count; exit 1 for a failed measurement included). */
  readonly ok: boolean;
  /** Its exit code; null when it was killed or could not start. */
  readonly exitCode: number | null;
  /** Why it counts for nothing, when `ok` is false. */
  readonly failed?: string;
}

/** What `bench --against --json` writes. */
export interface BenchComparison {
  /** `tsvmm-bench-against/1`: tells this document from a bench run's. */
  readonly schema: string;
  /** Every metric both builds measured, in this build's order. */
  readonly metrics: ComparedMetric[];
  /** Metrics only this build reports, in sections both builds ran. */
  readonly onlyThis: string[];
  /** Metrics only the other build reports, in sections both builds ran. */
  readonly onlyOther: string[];
  /** Metrics both report but at least one did not measure (no KVM here, a failed measurement). */
  readonly unmeasured: UnmeasuredMetric[];
  /** Every child run, in order: the interleaving as it happened. */
  readonly runs: ComparisonRun[];
  /** What limited the comparison (flags the other build lacks, a section a build never completed). */
  readonly notes: string[];
  /** About the comparison itself. */
  readonly meta: RunMeta & {
    /** Rounds run (`--rounds`). */
    readonly rounds: number;
    /** The sections compared, in the order each round runs them. */
    readonly sections: readonly string[];
    /** How long each run was given, in ms. */
    readonly runDeadlineMs: number;
    /** This build. */
    readonly this: BuildInfo;
    /** The other build, and its checkout. */
    readonly other: BuildInfo & {
      /** The checkout given to `--against`, as an absolute path. */
      readonly dir: string;
    };
  };
}

/** Which build ran. */
export interface BuildInfo {
  /** Its `bin.js`. */
  readonly bin: string;
  /** What its `--version` printed. */
  readonly version?: string;
  /** Its checkout's HEAD commit, when it is a git checkout. */
  readonly commit?: string;
}

/** The built CLI of the checkout at `dir`; a usage error when there is none. */
export function checkoutBin(dir: string): string {
  const root = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new UsageError('bench', `--against ${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new UsageError('bench', `--against ${dir}: not a directory (it takes a checkout of the tsvmm repository)`);
  const bin = path.join(root, 'packages', 'cli', 'dist', 'bin.js');
  if (!fs.existsSync(bin)) {
    throw new UsageError('bench', `--against ${dir}: ${bin} is missing: build that checkout first (cd ${root} && npx -y pnpm@10 install && npx -y pnpm@10 build)`);
  }
  return bin;
}

/** This build's `bin.js` (from the sources, as in the tests: the build beside them). */
export function thisBin(): string {
  return __filename.endsWith('.ts') ? path.resolve(__dirname, '..', '..', 'dist', 'bin.js') : path.resolve(__dirname, '..', 'bin.js');
}

/** The HEAD commit of the checkout `bin` belongs to (`<root>/packages/cli/dist/bin.js`), when it is one. */
function commitOf(bin: string): string | undefined {
  const root = path.resolve(path.dirname(bin), '..', '..', '..');
  if (!fs.existsSync(path.join(root, '.git'))) return undefined;
  // Read-only, and told to take no lock: the checkout may be someone's working tree.
  const r = spawnSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', timeout: 5000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

async function versionOf(bin: string): Promise<string | undefined> {
  try {
    const r = await runNodeChild([bin, '--version'], PROBE_DEADLINE_MS, `${bin} --version`);
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** The run options an older or newer bench may lack: without each, the runs go without it. */
type Flag = 'only' | 'quick' | 'no-progress';

/**
 * The `bench` options the CLI at `bin` lists in its help, or undefined (with why) when it printed
 * none: then every flag is tried, and a run it refuses shows as a failed run.
 */
async function benchOptionsOf(bin: string): Promise<{ readonly flags: ReadonlySet<string> } | { readonly unknown: string }> {
  let r: ChildOutcome;
  try {
    r = await runNodeChild([bin, 'bench', '--help'], PROBE_DEADLINE_MS, `${bin} bench --help`);
  } catch (e) {
    return { unknown: e instanceof Error ? e.message : String(e) };
  }
  const flags = new Set([...r.stdout.matchAll(/^\s*(?:-[A-Za-z], )?--([a-z][\w-]*)/gm)].map((m) => m[1]!));
  if (r.code !== 0 || flags.size === 0) return { unknown: `\`bench --help\` ${r.code === 0 ? 'listed no options' : `exited with ${r.code ?? r.signal}`}${lastLine(r.stderr)}` };
  return { flags };
}

function lastLine(stderr: string): string {
  const line = stderr.trim().split('\n').pop()?.trim();
  return line ? `: ${line}` : '';
}

/** The bench document a run printed, or why it counts for nothing. */
function readRun(r: ChildOutcome): { readonly result: BenchResult } | { readonly failed: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    doc = undefined;
  }
  const exit = r.code === null ? `was ended by ${r.signal}` : `exited with ${r.code}`;
  if (doc !== null && typeof doc === 'object' && 'error' in doc) {
    const e = (doc as { error: { message?: unknown } }).error;
    return { failed: `${exit}: ${typeof e?.message === 'string' ? e.message : JSON.stringify(e)}` };
  }
  // Exit 1 with a document is a run whose measurement failed somewhere: its other figures stand.
  if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { metrics?: unknown }).metrics) && (r.code === 0 || r.code === 1)) {
    return { result: doc as BenchResult };
  }
  return { failed: `${exit} without a bench JSON document on stdout${lastLine(r.stderr)}` };
}

/** What one comparison runs. */
export interface ComparisonPlan {
  /** Section ids, each run on its own (`--only <id>`). */
  readonly sections: readonly string[];
  readonly quick: boolean;
  readonly rounds: number;
  /** Each run's deadline, in ms. */
  readonly runDeadlineMs: number;
  /** This build's `bin.js`. */
  readonly thisBin: string;
  /** The other checkout. */
  readonly otherDir: string;
  /** The other build's `bin.js` (from {@link checkoutBin}). */
  readonly otherBin: string;
  readonly progress: Progress;
}

/** The arguments of one section's run on a CLI that knows `flags` (every flag when unknown). */
function runArgs(bin: string, section: string, quick: boolean, flags: ReadonlySet<string> | undefined): string[] {
  const knows = (f: Flag): boolean => flags === undefined || flags.has(f);
  return [
    bin,
    'bench',
    '--json',
    '-',
    ...(knows('only') ? ['--only', section] : []),
    ...(quick && knows('quick') ? ['--quick'] : []),
    ...(knows('no-progress') ? ['--no-progress'] : []),
  ];
}

/** Measured metrics of `section` in a run: a CLI without `--only` reports every section, and only this one is compared. */
function sectionMetrics(result: BenchResult, section: string): Metric[] {
  return result.metrics.filter((m) => m.name.startsWith(`${section}.`));
}

function measured(m: Metric): boolean {
  return typeof m.value === 'number' && Number.isFinite(m.value);
}

/** Runs the comparison; never throws for a run that fails (it is recorded), only for a wrong plan. */
export async function compareBuilds(plan: ComparisonPlan): Promise<BenchComparison> {
  const started = Date.now();
  const notes: string[] = [];
  const options = await benchOptionsOf(plan.otherBin);
  const otherFlags = 'flags' in options ? options.flags : undefined;
  if ('unknown' in options) {
    notes.push(`the other build's bench options could not be read (${options.unknown}); its runs were given the same flags as this build's.`);
  } else if (otherFlags !== undefined) {
    if (!otherFlags.has('json')) {
      throw new UsageError('bench', `--against ${plan.otherDir}: that build's bench has no --json option, so its figures cannot be read`);
    }
    if (!otherFlags.has('only')) notes.push(`the other build's bench has no --only: each of its runs measured every section, and only the section of the round is compared.`);
    if (plan.quick && !otherFlags.has('quick')) notes.push(`the other build's bench has no --quick: its runs were full runs.`);
    if (!otherFlags.has('no-progress')) notes.push(`the other build's bench has no --no-progress: its runs were given no such flag (their progress on stderr is discarded).`);
  }
  const bins: Record<Build, string> = { this: plan.thisBin, other: plan.otherBin };
  const flags: Record<Build, ReadonlySet<string> | undefined> = { this: undefined, other: otherFlags };

  const runs: ComparisonRun[] = [];
  const results: Record<Build, Map<string, BenchResult[]>> = { this: new Map(), other: new Map() };
  for (let round = 0; round < plan.rounds; round++) {
    for (const section of plan.sections) {
      for (const i of roundOrder(round, BUILDS.length)) {
        const build = BUILDS[i]!;
        plan.progress.step(`round ${round + 1}/${plan.rounds}: ${section}, ${build} build`);
        const waitedFor = `the ${build} build's ${section} section (round ${round + 1}) to finish`;
        let run: ComparisonRun;
        try {
          const outcome = await runNodeChild(runArgs(bins[build], section, plan.quick, flags[build]), plan.runDeadlineMs, waitedFor);
          const read = readRun(outcome);
          if ('result' in read) {
            run = { round: round + 1, section, build, ok: true, exitCode: outcome.code };
            results[build].set(section, [...(results[build].get(section) ?? []), read.result]);
          } else {
            run = { round: round + 1, section, build, ok: false, exitCode: outcome.code, failed: read.failed };
          }
        } catch (e) {
          const failed =
            e instanceof Stalled ? `${e.message}; it was killed with its process group` : `could not be started: ${e instanceof Error ? e.message : String(e)}`;
          run = { round: round + 1, section, build, ok: false, exitCode: null, failed };
        }
        if (run.failed !== undefined) plan.progress.note(`round ${run.round}, ${section}, ${build} build: FAILED: ${run.failed}`);
        runs.push(run);
      }
    }
  }
  plan.progress.done();

  const metrics: ComparedMetric[] = [];
  const onlyThis: string[] = [];
  const onlyOther: string[] = [];
  const unmeasured: UnmeasuredMetric[] = [];
  for (const section of plan.sections) {
    const missing = BUILDS.filter((b) => !results[b].has(section));
    if (missing.length) {
      notes.push(`${section}: not compared: no run of ${missing.map((b) => `the ${b} build`).join(' or ')} printed its figures (see the failed runs).`);
      continue;
    }
    const byName = (b: Build): Map<string, Metric[]> => {
      const out = new Map<string, Metric[]>();
      for (const r of results[b].get(section)!) for (const m of sectionMetrics(r, section)) out.set(m.name, [...(out.get(m.name) ?? []), m]);
      return out;
    };
    const mine = byName('this');
    const theirs = byName('other');
    for (const [name, ms] of mine) {
      const other = theirs.get(name);
      if (!other) {
        onlyThis.push(name);
        continue;
      }
      const values = ms.filter(measured).map((m) => m.value!);
      const baselineValues = other.filter(measured).map((m) => m.value!);
      const why = (list: Metric[], n: number): string | undefined =>
        n > 0 ? undefined : (list.map((m) => m.failed ?? m.skipped).find((r) => r !== undefined) ?? 'no run measured it');
      const unitOther = other[0]!.unit;
      if (values.length === 0 || baselineValues.length === 0) {
        const w = { this: why(ms, values.length), other: why(other, baselineValues.length) };
        unmeasured.push({ name, ...(w.this !== undefined ? { this: w.this } : {}), ...(w.other !== undefined ? { other: w.other } : {}) });
        continue;
      }
      if (unitOther !== ms[0]!.unit) {
        unmeasured.push({ name, this: `in ${ms[0]!.unit}`, other: `in ${unitOther}: a different unit, not compared` });
        continue;
      }
      const value = summarize(values).median;
      const baseline = summarize(baselineValues).median;
      metrics.push({
        name,
        unit: ms[0]!.unit,
        value,
        baseline,
        ratio: baseline > 0 ? value / baseline : null,
        count: values.length,
        baselineCount: baselineValues.length,
        values,
        baselineValues,
        description: ms[0]!.description,
      });
    }
    for (const name of theirs.keys()) if (!mine.has(name)) onlyOther.push(name);
  }

  const [thisVersion, otherVersion] = await Promise.all([versionOf(plan.thisBin), versionOf(plan.otherBin)]);
  const info = (bin: string, version: string | undefined): BuildInfo => {
    const commit = commitOf(bin);
    return { bin, ...(version !== undefined ? { version } : {}), ...(commit !== undefined ? { commit } : {}) };
  };
  return {
    schema: COMPARISON_SCHEMA,
    metrics,
    onlyThis,
    onlyOther,
    unmeasured,
    runs,
    notes,
    meta: {
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      quick: plan.quick,
      host: hostLine(),
      node: process.version,
      rounds: plan.rounds,
      sections: [...plan.sections],
      runDeadlineMs: plan.runDeadlineMs,
      this: info(plan.thisBin, thisVersion),
      other: { dir: path.resolve(plan.otherDir), ...info(plan.otherBin, otherVersion) },
    },
  };
}
