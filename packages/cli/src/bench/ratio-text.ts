/**
 * A bench ratio (a metric's median over its baseline's) as people read it, the same in the terminal
 * table and the HTML report.
 */
import type { Metric } from './result';

/** Three significant digits; whole numbers as they are, and from 100 up without decimals. */
function num(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toPrecision(3);
}

/**
 * Below this many samples on either side, a ratio of medians is indicative only (a quick run measures
 * some metrics once or a few times, and one sample of a millisecond-long operation swings with the
 * host's load): marked `≈`, with n in its column.
 */
export const RATIO_MIN_SAMPLES = 5;

/** The words a ratio above and below 1 is said with: `slower`/`faster` for times, `more`/`fewer` for counts of commits. */
export const directions = (m: Metric): readonly [string, string] => (m.unit === 'commits' ? ['more', 'fewer'] : ['slower', 'faster']);

/**
 * The ratio for people, one convention for every row: how many times slower (or more) or faster (or
 * fewer) the median is than its baseline's, `3.87× slower`, `150× faster`, `2048× fewer`, `1.00× (same)`;
 * prefixed `≈` when either side has fewer than {@link RATIO_MIN_SAMPLES} samples.
 */
export function ratioText(m: Metric): string {
  if (m.ratio === null || m.ratio === undefined || !Number.isFinite(m.ratio) || m.ratio <= 0) return m.ratio === null || m.ratio === undefined ? '' : '—';
  const [up, down] = directions(m);
  const few = [m.count, m.baselineCount].some((n) => n !== undefined && n < RATIO_MIN_SAMPLES);
  const text = Math.abs(m.ratio - 1) < 0.005 ? '1.00× (same)' : m.ratio > 1 ? `${num(m.ratio)}× ${up}` : `${num(1 / m.ratio)}× ${down}`;
  return few ? `≈${text}` : text;
}

