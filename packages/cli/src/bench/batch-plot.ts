/**
 * The plots of the batching benches (msix, routes): how a cost grows with the vector count, the
 * batched variant against one commit per change, drawn the same way in both sections.
 */
import type { ScalingPlot } from './result';

/** The compared variants, as their legend names; `points[i]` of {@link batchPlot} is variant `i`. */
export const BATCH_VARIANTS = ['batched', 'one commit per change'] as const;

/** [vectors, y] points of each variant, in {@link BATCH_VARIANTS} order. */
export type BatchPoints = [[number, number][], [number, number][]];

/** A log-scale plot of `yName` (its unit) against the vector count, one line per variant. */
export function batchPlot(id: string, title: string, yName: string, points: BatchPoints): ScalingPlot {
  return { id, title, xName: 'vectors', yName, logY: true, series: BATCH_VARIANTS.map((name, i) => ({ name, points: points[i]! })) };
}
