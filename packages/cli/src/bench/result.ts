/** What one `tsvmm bench` run produces: the metrics (the stable, comparable part) and the data behind the plots. */

/** A target a metric is held to (`tsvmm bench --strict` fails when one is missed). */
export interface Target {
  /** For people: `irqfd ≤ 1.5× raw write`. */
  readonly description: string;
  /** The ratio (value / baseline) must be at most this. */
  readonly ratioMax?: number;
  /** The value itself must be at most this (e.g. one commit). */
  readonly valueMax?: number;
  /** Whether the measured figure met the target. */
  readonly met: boolean;
}

/** One figure of a bench run, with its baseline and target when it has them. */
export interface Metric {
  /** Stable name, e.g. `delivery.irqfd`. */
  readonly name: string;
  /** Unit of `value`, `baseline` and the percentiles: `µs`, `ns`, `ms` or `commits`. */
  readonly unit: string;
  /** The median (or the single figure for counts); null when the benchmark could not run here, or failed. */
  readonly value: number | null;
  /** The baseline's median, measured alternately in the same run; null for baselines themselves. */
  readonly baseline: number | null;
  /** value / baseline; null when there is no baseline. */
  readonly ratio: number | null;
  /** The metric that served as baseline. */
  readonly baselineName?: string;
  /**
   * 99th percentile (nearest rank) of the samples, in `unit`. With fewer than 100 samples it is the
   * largest or nearly so, so the table and the report show it only from `count` ≥ 100.
   */
  readonly p99?: number;
  /** Number of samples behind `value`. */
  readonly count?: number;
  /** 99th percentile of the baseline's samples, in `unit`. */
  readonly baselineP99?: number;
  /** Number of the baseline's samples. */
  readonly baselineCount?: number;
  /** The target this metric is held to, when it has one and could be measured. */
  readonly target?: Target;
  /** What was measured and how, for people. */
  readonly description: string;
  /** Why it was not measured here (value is null): the host lacks what it needs, e.g. KVM. */
  readonly skipped?: string;
  /**
   * Why its measurement failed (value is null): a check of the run did not hold, e.g. a delivery
   * that never came within its deadline. The run then exits 1, with or without `--strict`.
   */
  readonly failed?: string;
}

/** The samples of one metric, reduced for plotting its latency distribution. */
export interface Distribution {
  /** Metric name the samples belong to. */
  readonly name: string;
  /** Unit of every sample figure here (`µs`, `ns`). */
  readonly unit: string;
  /** The percentile (0–100) of each entry of `quantiles`: dense from 90 up, where the tail is. */
  readonly percentiles: readonly number[];
  /** The sample at each percentile (nearest rank), in `unit`: a quantile sketch for plotting. */
  readonly quantiles: readonly number[];
  /** Number of samples. */
  readonly count: number;
  /** The 99.9th percentile (nearest rank), in `unit`: the plot clips its time axis at the largest of these. */
  readonly p999: number;
  /** Every sample above the 99.9th percentile, sorted, in `unit`: the plot counts those beyond its clipped axis. */
  readonly outliers: readonly number[];
}

/** One line of a {@link ScalingPlot}. */
export interface ScalingSeries {
  /** Legend name, e.g. `batched`. */
  readonly name: string;
  /** [x, y] points. */
  readonly points: readonly (readonly [number, number])[];
}

/** How a cost grows with a size (e.g. MSI-X Enable time against the vector count): one chart of the report. */
export interface ScalingPlot {
  /** Stable identifier, e.g. `msix-enable`. */
  readonly id: string;
  /** Chart title, for people. */
  readonly title: string;
  /** Name of the x axis (the size, e.g. `vectors`); the report draws it on a log2 scale. */
  readonly xName: string;
  /** Name of the y axis, its unit (e.g. `ms`, `commits`). */
  readonly yName: string;
  /** Draw the y axis on a log scale. */
  readonly logY: boolean;
  /** The lines of the chart. */
  readonly series: readonly ScalingSeries[];
}

/** The `schema` of a bench document; the number changes only when a field changes meaning or goes away. */
export const BENCH_SCHEMA = 'tsvmm-bench/1';

/** What one `tsvmm bench` run produces (`--json`): the metrics, and the data behind the report's plots (`schemas/bench.schema.json`). */
export interface BenchResult {
  /** `tsvmm-bench/1`: which document this is, and the version of its shape. */
  readonly schema: typeof BENCH_SCHEMA;
  /**
   * Every figure, in section order; a figure that could not be measured here has `value` null and
   * `skipped` set, one whose measurement failed has `value` null and `failed` set.
   */
  readonly metrics: Metric[];
  /** Latency distributions of the sampled metrics. */
  readonly distributions: Distribution[];
  /** Scaling charts. */
  readonly scaling: ScalingPlot[];
  /** One line per section on how it measured (vCPU, rounds, harness), for people. */
  readonly notes: string[];
  /** About the run itself. */
  readonly meta: RunMeta;
}

/** When, where and how a bench run (or a comparison of two builds) was made. */
export interface RunMeta {
  /** Start time, ISO 8601 (UTC). */
  readonly startedAt: string;
  /** Wall-clock duration of the whole run, in ms. */
  readonly durationMs: number;
  /** Whether `--quick` (fewer samples) was given. */
  readonly quick: boolean;
  /** Platform, architecture, kernel release, CPU count and model, in one line. */
  readonly host: string;
  /** The Node.js version (`process.version`); in a comparison, both builds' runs use the same. */
  readonly node: string;
}

export function withRatio(
  m: Omit<Metric, 'ratio' | 'target'> & {
    readonly targetRatioMax?: number;
    readonly targetValueMax?: number;
    readonly targetDescription?: string;
  },
): Metric {
  const { targetRatioMax, targetValueMax, targetDescription, ...rest } = m;
  const ratio = m.value !== null && m.baseline !== null && m.baseline > 0 ? m.value / m.baseline : null;
  let target: Target | undefined;
  if (targetRatioMax !== undefined && ratio !== null) {
    target = { description: targetDescription ?? `≤ ${targetRatioMax}×`, ratioMax: targetRatioMax, met: ratio <= targetRatioMax };
  } else if (targetValueMax !== undefined && m.value !== null) {
    target = { description: targetDescription ?? `≤ ${targetValueMax} ${m.unit}`, valueMax: targetValueMax, met: m.value <= targetValueMax };
  }
  return { ...rest, ratio, ...(target ? { target } : {}) };
}

export function skippedMetric(name: string, unit: string, description: string, reason: string): Metric {
  return { name, unit, value: null, baseline: null, ratio: null, description, skipped: reason };
}

/** A metric whose measurement failed (`reason`: what did not hold, e.g. what was waited for in vain). */
export function failedMetric(name: string, unit: string, description: string, reason: string): Metric {
  return { name, unit, value: null, baseline: null, ratio: null, description, failed: reason };
}
