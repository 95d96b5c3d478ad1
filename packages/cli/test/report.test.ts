import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { percentLabel, percentileMarks, renderReport, writeReport } from '../src/bench/report';
import type { BenchResult, Metric } from '../src/bench/result';
import { BENCH_SCHEMA, withRatio } from '../src/bench/result';
import { distribution } from '../src/bench/stats';
import { chromiumMissing, launchChromium, renderedCharts } from './support/chromium';

function syntheticResult(): BenchResult {
  // 5000 samples each; a few far outliers (100× the median) in the irqfd series.
  const lat = (base: number, outliers = 0): number[] => [
    ...Array.from({ length: 5000 - outliers }, (_, i) => base + i * 0.0002 * base),
    ...Array.from({ length: outliers }, () => base * 100),
  ];
  return {
    schema: BENCH_SCHEMA,
    metrics: [
      withRatio({ name: 'delivery.relay', unit: 'µs', value: 4, p99: 9, count: 200, baseline: 2, baselineName: 'delivery.irqfd', description: 'r' }),
      withRatio({ name: 'msix.table_write', unit: 'ns', value: 90, p99: 99, count: 40, baseline: 3, baselineName: 'msix.baseline_dataview', description: 't', targetRatioMax: 20 }),
      withRatio({ name: 'delivery.irqfd', unit: 'µs', value: 2, p99: 3, count: 200, baseline: 1.5, baselineName: 'delivery.raw_write', description: 'x', targetRatioMax: 1.5 }),
      withRatio({ name: 'delivery.raw_write', unit: 'µs', value: 1.5, baseline: null, description: 'y</script><b>' }),
    ],
    distributions: [
      distribution('delivery.irqfd', 'µs', lat(2, 4)),
      distribution('delivery.raw_write', 'µs', lat(1.5)),
      // A short run in another unit: its plot reaches the second nine only.
      distribution('msix.table_write', 'ns', Array.from({ length: 200 }, (_, i) => 10 + i)),
    ],
    scaling: [
      {
        id: 'routes-ms',
        title: 'time to program N vectors',
        xName: 'vectors',
        yName: 'ms',
        logY: true,
        series: [
          { name: 'batched', points: [[1, 0.05], [8, 0.1], [64, 0.2], [2048, 1.5]] },
          { name: 'per change', points: [[1, 0.06], [8, 1], [64, 20], [2048, 1500]] },
        ],
      },
    ],
    notes: ['synthetic'],
    meta: { startedAt: '2026-01-01T00:00:00Z', durationMs: 1000, quick: true, host: 'test', node: process.version },
  };
}

/** A run on a host without KVM: twenty metrics not measured for one long reason, and a short measured one. */
function noKvmResult(): BenchResult {
  const reason = `KVM is not available: open(/dev/kvm) failed (ENOENT 2) [UNAVAILABLE]. ${'A long explanation of what to do about it. '.repeat(8).trim()}`;
  const skipped = (name: string): Metric => ({ name: `delivery.${name}`, unit: 'µs', value: null, baseline: null, ratio: null, description: 'what it measures', skipped: reason });
  return {
    schema: BENCH_SCHEMA,
    metrics: [
      ...Array.from({ length: 20 }, (_, i) => skipped(`metric_with_a_long_name_${i}`)),
      withRatio({ name: 'msix.enable_2048', unit: 'ms', value: 18.7, count: 15, baseline: 0.78, baselineCount: 15, baselineName: 'msix.enable_2048.per_change_with_a_long_name', description: 'd'.repeat(200) }),
    ],
    distributions: [distribution('msix.table_write', 'ns', Array.from({ length: 15 }, (_, i) => 10 + i))],
    scaling: [],
    notes: [],
    meta: { startedAt: '2026-01-01T00:00:00Z', durationMs: 1000, quick: true, host: 'test', node: process.version },
  };
}

describe('the percentile axis', () => {
  it.each([
    [15, ['0', '50', '90', '93.3']],
    [200, ['0', '50', '90', '99', '99.5']],
    [1100, ['0', '50', '90', '99', '99.9']],
    [5000, ['0', '50', '90', '99', '99.9', '99.98']],
    [100000, ['0', '50', '90', '99', '99.9', '99.99']],
  ])('of a run of %i samples is labelled up to its top', (count, labels) => {
    const { top, marks } = percentileMarks(count);
    expect(marks.map(percentLabel)).toEqual(labels);
    // The curves end at the top: nothing above the last label but a sliver of under 8 % of the axis.
    expect((top - marks[marks.length - 1]!) / top).toBeLessThan(0.08);
  });
});

describe('HTML report', () => {
  it('says a reason shared by the metrics not measured once, each row referring to it', () => {
    const result = noKvmResult();
    const reason = result.metrics[0]!.skipped!;
    const visible = renderReport(result).split('<script type="application/json"')[0]!;
    expect(visible.split(reason).length - 1).toBe(1);
    expect(visible).toContain(`<li id="reason-1">${reason}</li>`);
    expect(visible.match(/not measured: <a href="#reason-1">reason 1<\/a>/g)).toHaveLength(20);
  });

  it('is one self-contained file: echarts and the data inlined, no external reference, markup escaped', () => {
    const html = renderReport(syntheticResult());
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/(src|href)=["']?https?:/i);
    expect(html).toContain('echarts');
    expect(html).toContain('<code>delivery.irqfd</code>');
    // A metric description cannot close the data script or inject markup.
    expect(html).not.toContain('y</script><b>');
    expect(html).toContain('y&lt;/script&gt;&lt;b&gt;');
    // The p99 column carries its unit, and is left empty where n is too small for a p99 to mean anything.
    expect(html).toContain('<td>3 µs</td>');
    expect(html).toContain('<td>9 µs</td>');
    expect(html).not.toContain('<td>99 ns</td>');
  });

  it('renders its plots in headless Chromium with no network request', async () => {
    const missing = chromiumMissing();
    if (missing) {
      console.warn(`SKIPPED: the report was not rendered in a browser: ${missing} (TSVMM_ALLOW_NO_CHROMIUM=1)`);
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-report-'));
    const file = writeReport(dir, syntheticResult());
    const { browser, close } = await launchChromium();
    try {
      const { charts, requests, errors } = await renderedCharts(browser, file, path.join(dir, 'screenshot.png'));
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      expect(charts.map((c) => c.id)).toEqual(['dist-0', 'dist-1', 'scale-routes-ms', 'ratios']);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(100);
        expect(c.height).toBeGreaterThan(100);
        expect(c.shapes).toBeGreaterThan(10);
      }
      // Vector counts are labelled as they are (2048, not a rounded 2050), one tick per power of two.
      const scale = charts.find((c) => c.id === 'scale-routes-ms')!;
      expect(scale.labels).toEqual(expect.arrayContaining(['8', '16', '64', '512', '2048']));
      expect(scale.labels).not.toContain('2050');
      // The latency plot spreads the tail (90 … 99.9 on its percentile axis), clips the time axis at the
      // largest p99.9 (irqfd's) and counts what lies beyond it: the 4 outliers and the one ordinary sample
      // above irqfd's p99.9 rank (rank 4995 of 5000); the ratio plot explains its colours.
      const dist = charts.find((c) => c.id === 'dist-0')!;
      // Its percentile axis shows the median and each nine the samples reach, and its title promises those only.
      expect(dist.labels).toEqual(expect.arrayContaining(['0', '50', '90', '99', '99.9']));
      expect(dist.labels.join(' ')).toContain('percentile axis in nines: 50, 90, 99, 99.9, 99.98)');
      const short = charts.find((c) => c.id === 'dist-1')!;
      // 200 samples reach 99.5: the top of the axis is labelled, no whole nine beyond it.
      expect(short.labels).toEqual(expect.arrayContaining(['0', '50', '90', '99', '99.5']));
      expect(short.labels).not.toContain('99.9');
      expect(short.labels.join(' ')).toContain('percentile axis in nines: 50, 90, 99, 99.5)');
      expect(dist.labels.join(' ')).toMatch(/Samples beyond it: delivery\.irqfd: 5 \(max 200 µs\)/);
      expect(dist.labels.join(' ')).not.toMatch(/delivery\.raw_write: \d/);
      const ratios = charts.find((c) => c.id === 'ratios')!;
      expect(ratios.labels.join(' ')).toMatch(/green = target met, red = target missed, grey = no target/);
      // Each colour means one thing across all the plots: a series name keeps one colour in every
      // chart, and the ratio bars' verdict colours and the target mark are used for nothing else.
      const result = syntheticResult();
      const meanings: [string, string][] = [];
      for (const c of charts.filter((x) => x.id !== 'ratios')) for (const s of c.series) meanings.push([s.colour, `series ${s.name.replace(/ \(n=\d+\)$/, '')}`]);
      const withRatio = result.metrics.filter((m) => m.ratio !== null);
      const [bars, mark] = [ratios.series.find((s) => s.name === 'ratio')!, ratios.series.find((s) => s.name === 'target')!];
      bars.items.forEach((colour, k) => {
        const t = withRatio[k]!.target;
        meanings.push([colour, t ? (t.met ? 'target met' : 'target missed') : 'no target']);
      });
      for (const colour of mark.items) meanings.push([colour, 'the target ratio']);
      expect(new Set(meanings.map(([, m]) => m))).toEqual(
        new Set(['series delivery.irqfd', 'series delivery.raw_write', 'series msix.table_write', 'series batched', 'series per change', 'target met', 'target missed', 'no target', 'the target ratio']),
      );
      const by = (key: 0 | 1): Map<string, Set<string>> => {
        const out = new Map<string, Set<string>>();
        for (const pair of meanings) out.set(pair[key], (out.get(pair[key]) ?? new Set()).add(pair[1 - key]!));
        return out;
      };
      for (const [colour, what] of by(0)) expect([colour, [...what]]).toEqual([colour, [expect.any(String)]]);
      for (const [what, colours] of by(1)) expect([what, [...colours]]).toEqual([what, [expect.any(String)]]);
      expect(meanings.every(([colour]) => colour !== '')).toBe(true);
      expect(fs.statSync(path.join(dir, 'screenshot.png')).size).toBeGreaterThan(10_000);

      // A short run without KVM at 1300 px: the page never scrolls sideways (the table scrolls in its
      // box, if at all), the top of the 15-sample curve is labelled, the shared reason said once.
      const shortRun = writeReport(path.join(dir, 'short'), noKvmResult());
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1300, height: 900 });
      await page.goto(`file://${shortRun}`);
      await page.waitForFunction(() => document.body.getAttribute('data-charts') !== null, undefined, { timeout: 20_000 });
      const layout = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        view: document.documentElement.clientWidth,
        box: document.querySelector('.table-box')!.getBoundingClientRect().right,
        labels: Array.from(document.querySelectorAll('#dist-0 svg text'), (t) => t.textContent ?? ''),
      }));
      await page.close();
      expect(layout.page).toBeLessThanOrEqual(layout.view);
      expect(layout.box).toBeLessThanOrEqual(layout.view);
      expect(layout.labels).toEqual(expect.arrayContaining(['90', '93.3']));
    } finally {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
