import { distribution, interleave, percentile, summarize, tailPercentiles } from '../src/bench/stats';

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

  it('plots percentiles densely in the tail, as far as the sample count resolves them', () => {
    expect(tailPercentiles(5)).toEqual([...Array.from({ length: 90 }, (_, i) => i), 100]);
    const p = tailPercentiles(20_000);
    expect(p).toEqual(expect.arrayContaining([90, 99, 99.9, 99.99, 100]));
    expect(p.filter((x) => x >= 90 && x < 99)).toHaveLength(10);
    expect(p.filter((x) => x >= 99.99 && x < 100)).toEqual([99.99, 99.9909, 99.9918, 99.9927, 99.9936, 99.9945]);
    expect([...p].sort((x, y) => x - y)).toEqual(p);
  });

  it('keeps the extremes, each percentile by nearest rank, and every sample above p99.9', () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => 10_000 - i); // 1 .. 10000, reversed
    const d = distribution('x', 'µs', samples);
    expect(d.count).toBe(10_000);
    expect(d.quantiles[0]).toBe(1);
    expect(d.quantiles[d.quantiles.length - 1]).toBe(10_000);
    expect(d.quantiles[d.percentiles.indexOf(99)]).toBe(9900);
    expect(d.quantiles[d.percentiles.indexOf(99.9)]).toBe(9990);
    expect(d.outliers).toEqual(Array.from({ length: 10 }, (_, i) => 9991 + i));
  });
});
