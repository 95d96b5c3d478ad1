import { interleave, percentile, quantileSketch, summarize } from '../src/bench/stats';

describe('stats', () => {
  it('uses nearest-rank percentiles, so every reported value was measured', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toEqual({ count: 5, median: 3, p99: 5, min: 1, max: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
    expect(summarize([]).median).toBeNaN();
  });

  it('interleaves two measurements in ABBA order and keeps their samples apart', () => {
    const calls: string[] = [];
    const [a, b] = interleave(4, [
      () => (calls.push('a'), [1]),
      () => (calls.push('b'), [2]),
    ]);
    expect(calls.join('')).toBe('abbaabba');
    expect(a).toEqual([1, 1, 1, 1]);
    expect(b).toEqual([2, 2, 2, 2]);
  });

  it('rotates the order of three or more measurements every round', () => {
    const calls: number[] = [];
    const out = interleave(3, [0, 1, 2].map((i) => () => (calls.push(i), [i])));
    expect(calls).toEqual([0, 1, 2, 1, 2, 0, 2, 0, 1]);
    expect(out).toEqual([
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  it('sketches a distribution with its extremes kept', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const q = quantileSketch(samples, 11);
    expect(q).toHaveLength(11);
    expect(q[0]).toBe(1);
    expect(q[10]).toBe(1000);
    expect([...q].sort((x, y) => x - y)).toEqual(q);
  });
});
