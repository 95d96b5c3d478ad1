/** What one `tsvmm bench` run produces: the metrics (the stable, comparable part) and the data behind the plots. */

export interface Target {
  /** For people: `irqfd ≤ 1.5× raw write`. */
  readonly description: string;
  /** The ratio (value / baseline) must be at most this. */
  readonly ratioMax?: number;
  /** The value itself must be at most this (e.g. one commit). */
  readonly valueMax?: number;
  readonly met: boolean;
}

export interface Metric {
  /** Stable name, e.g. `delivery.irqfd`. */
  readonly name: string;
  readonly unit: string;
  /** The median (or the single figure for counts); null when the benchmark could not run here. */
  readonly value: number | null;
  /** The baseline's median, measured alternately in the same run; null for baselines themselves. */
  readonly baseline: number | null;
  /** value / baseline; null when there is no baseline. */
  readonly ratio: number | null;
  /** The metric that served as baseline. */
  readonly baselineName?: string;
  readonly p99?: number;
  readonly count?: number;
  readonly baselineP99?: number;
  readonly baselineCount?: number;
  readonly target?: Target;
  readonly description: string;
  /** Why it was not measured (value is null). */
  readonly skipped?: string;
}

export interface Distribution {
  /** Metric name the samples belong to. */
  readonly name: string;
  readonly unit: string;
  /** The percentile (0–100) of each entry of `quantiles`: dense from 90 up, where the tail is. */
  readonly percentiles: readonly number[];
  /** The sample at each percentile (nearest rank), in `unit`: a quantile sketch for plotting. */
  readonly quantiles: readonly number[];
  readonly count: number;
  /** The 99.9th percentile (nearest rank), in `unit`: the plot clips its time axis at the largest of these. */
  readonly p999: number;
  /** Every sample above the 99.9th percentile, sorted, in `unit`: the plot counts those beyond its clipped axis. */
  readonly outliers: readonly number[];
}

export interface ScalingSeries {
  readonly name: string;
  /** [x, y] points. */
  readonly points: readonly (readonly [number, number])[];
}

export interface ScalingPlot {
  readonly id: string;
  readonly title: string;
  readonly xName: string;
  readonly yName: string;
  readonly logY: boolean;
  readonly series: readonly ScalingSeries[];
}

export interface BenchResult {
  readonly metrics: Metric[];
  readonly distributions: Distribution[];
  readonly scaling: ScalingPlot[];
  readonly notes: string[];
  readonly meta: {
    readonly startedAt: string;
    readonly durationMs: number;
    readonly quick: boolean;
    readonly host: string;
    readonly node: string;
  };
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
