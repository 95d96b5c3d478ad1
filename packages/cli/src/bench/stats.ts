/** Order statistics of benchmark samples. Nearest-rank percentiles: every reported value was measured. */
import type { Distribution } from './result';

export interface Summary {
  readonly count: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/**
 * The fewest samples whose p99 the table and the report show. Below 100 the nearest-rank p99 is the
 * largest sample (or the second largest), which says nothing about a tail: only from 100 samples
 * up does at least one sample lie above it.
 */
export const P99_MIN_SAMPLES = 100;

/** Whether a p99 over `count` samples is worth showing (`count` ≥ {@link P99_MIN_SAMPLES}). */
export function showsP99(count: number | undefined): boolean {
  return count !== undefined && count >= P99_MIN_SAMPLES;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Rounded to 12 digits first: 99.9% of 10000 is rank 9990, not the 9991 binary rounding would give.
  const rank = Math.ceil(Number(((p / 100) * sorted.length).toPrecision(12)));
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Runs measurements in turn, `rounds` times each, rotating the order every round (ABBA for two)
 * so that none always runs first: warm caches, CPU frequency and background noise hit all alike.
 * Each function returns the samples of one batch; the result holds every function's samples.
 */
export function interleave(rounds: number, fns: readonly (() => readonly number[])[], onRound?: (round: number) => void): number[][] {
  const out = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const i of roundOrder(r, fns.length)) for (const s of fns[i]!()) out[i]!.push(s);
    onRound?.(r + 1);
  }
  return out;
}

/**
 * The order in which `count` measurements run in round `round` (0-based): for two, A B then B A
 * (ABBA over two rounds); for more, rotated by one each round. Every measurement runs first as
 * often as the others over a whole cycle.
 */
export function roundOrder(round: number, count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (count === 2) {
    if (round % 2 === 1) order.reverse();
  } else if (count > 0) {
    for (let k = 0; k < round % count; k++) order.push(order.shift()!);
  }
  return order;
}

/**
 * The percentiles a distribution plot shows: every whole percentile to 90, then ten steps per
 * "nine" (90–99, 99–99.9, 99.9–99.99, ...) while the sample count still resolves them, then 100.
 */
export function tailPercentiles(count: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 90; p++) out.push(p);
  for (let nines = 1; 10 ** nines <= count; nines++) {
    const from = 1 - 10 ** -nines;
    const to = 1 - 10 ** -(nines + 1);
    for (let k = 0; k < 10; k++) {
      const q = from + ((to - from) * k) / 10;
      if (1 - q < 1 / count) break;
      out.push(Number((100 * q).toPrecision(12)));
    }
  }
  out.push(100);
  return out;
}

/** What a report plots of one metric's samples. */
export function distribution(name: string, unit: string, samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const percentiles = tailPercentiles(sorted.length);
  const p999 = percentile(sorted, 99.9);
  return {
    name,
    unit,
    percentiles,
    quantiles: percentiles.map((p) => percentile(sorted, p)),
    count: sorted.length,
    p999,
    outliers: sorted.filter((v) => v > p999),
  };
}
