/** Order statistics of benchmark samples. Nearest-rank percentiles: every reported value was measured. */

export interface Summary {
  readonly count: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
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
    const order = fns.map((_, i) => i);
    if (fns.length === 2) {
      if (r % 2 === 1) order.reverse();
    } else {
      for (let k = 0; k < r % fns.length; k++) order.push(order.shift()!);
    }
    for (const i of order) for (const s of fns[i]!()) out[i]!.push(s);
    onRound?.(r + 1);
  }
  return out;
}

/** A down-sampled sorted copy (at most `points` values) for plotting distributions. */
export function quantileSketch(samples: readonly number[], points = 200): number[] {
  const sorted = [...samples].sort((x, y) => x - y);
  if (sorted.length <= points) return sorted;
  const out: number[] = [];
  for (let i = 0; i < points; i++) out.push(sorted[Math.round((i / (points - 1)) * (sorted.length - 1))]!);
  return out;
}
