/**
 * The HTML report of one bench run: one self-contained file (echarts' browser bundle inlined, the
 * data inlined as JSON), so it opens from disk with no network. The build copies that bundle into
 * `dist/assets/`, so the published package ships 1 MB of it instead of depending on all of echarts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchResult, Metric } from './result';
import { P99_MIN_SAMPLES, showsP99 } from './stats';
import { RATIO_MIN_SAMPLES } from './ratio-text';
import { unitFor } from '../output/plural';
import { ratioText } from './ratio-text';

/** The bundle shipped in `dist/assets/`; from the sources (tests), the devDependency's own copy. */
export function echartsFile(): string {
  const shipped = path.join(__dirname, '..', 'assets', 'echarts.min.js');
  if (!__filename.endsWith('.ts') || fs.existsSync(shipped)) return shipped;
  return require.resolve('echarts/dist/echarts.min.js');
}

function echartsSource(): string {
  const file = echartsFile();
  // An inline script ends at the first `</script`: make sure the library cannot contain one.
  return fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  return Number(n.toPrecision(digits)).toString();
}

/** The ratio as the terminal table says it (one convention for every row), the raw metric / baseline under it. */
function ratioCell(m: Metric): string {
  if (m.ratio === null) return '';
  return `${esc(ratioText(m))}<br><small>(${fmt(m.ratio)}× the baseline)</small>`;
}

/**
 * One row of the table. A metric not measured refers to its reason by number (`reasons`: each
 * distinct reason once, listed above the table): on a host without KVM twenty rows share one long
 * sentence, which repeated in each row made the page thousands of pixels tall.
 */
function metricRow(m: Metric, reasons: readonly string[]): string {
  const target = m.target ? `${esc(m.target.description)}: <b class="${m.target.met ? 'met' : 'missed'}">${m.target.met ? 'met' : 'MISSED'}</b>` : '';
  const value =
    m.failed !== undefined
      ? `<b class="missed">FAILED: ${esc(m.failed)}</b>`
      : m.value === null
        ? `<i>not measured: <a href="#reason-${reasons.indexOf(m.skipped ?? '') + 1}">reason ${reasons.indexOf(m.skipped ?? '') + 1}</a></i>`
        : `${fmt(m.value)} ${esc(unitFor(m.value, m.unit))}`;
  return `<tr><td><code>${esc(m.name)}</code></td><td>${value}</td><td>${m.p99 === undefined || !showsP99(m.count) ? '' : `${fmt(m.p99)} ${esc(m.unit)}`}</td><td>${m.count ?? ''}</td><td>${
    m.baselineName ? `<code>${esc(m.baselineName)}</code> ${fmt(m.baseline)} ${esc(m.baseline === null ? m.unit : unitFor(m.baseline, m.unit))}` : ''
  }</td><td>${ratioCell(m)}</td><td>${target}</td><td>${esc(m.description)}</td></tr>`;
}

/**
 * The percentile axis in "nines": y = -log10(1 - p/100), so 0, 90, 99, 99.9, 99.99 are equally
 * spaced and the tail gets most of the height. The largest of `count` samples sits at its rank,
 * log10(count) nines. Runs in Node (tests) and, as its source, in the report's page.
 */
export function nines(p: number, count: number): number {
  return p >= 100 ? Math.log10(count) : -Math.log10(1 - p / 100);
}

/** A height on the nines axis as a percentile, with as many decimals as its nines need: 90, 99, 99.9, 93.3. */
export function percentLabel(y: number): string {
  return y <= 0 ? '0' : String(+(100 - 100 * Math.pow(10, -y)).toFixed(Math.max(0, Math.ceil(y - 1e-9) - 1)));
}

/**
 * The axis of a latency plot whose largest series has `count` samples: its top (the largest
 * sample's rank, at most 4 nines) and its marks: 0 and the median, every whole nine the samples
 * reach, and the top itself when it lies 8 % of the axis or more above the last whole one, far
 * enough for its label not to touch that one's (a short run of 15 samples tops out at 93.3, which
 * would otherwise be an unlabelled band above 90).
 */
export function percentileMarks(count: number): { top: number; marks: number[] } {
  const top = Math.min(4, nines(100, Math.max(2, count)));
  const marks = [0, nines(50, 1)];
  for (let n = 1; n <= top + 1e-9; n++) marks.push(n);
  if ((top - marks[marks.length - 1]!) / top >= 0.08) marks.push(top);
  return { top, marks };
}

/** Client-side: builds each chart from the inlined data. Runs in the browser. */
const CLIENT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('tsvmm-data').textContent);
  var charts = [];
  // Three significant digits, but whole numbers from 100 up as they are: 1024 vectors, not 1020.
  var num = { formatter: function (v) { v = Number(v); return String(Math.abs(v) >= 100 ? Math.round(v) : +v.toPrecision(3)); } };
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var c = echarts.init(el, null, { renderer: 'svg' });
    c.setOption(option);
    charts.push(c);
  }
  // The same functions as in Node (report.ts), their source inlined.
  ${nines.toString()}
  ${percentLabel.toString()}
  ${percentileMarks.toString()}
  function fmtNum(v) { v = Number(v); return String(Math.abs(v) >= 100 ? Math.round(v) : +v.toPrecision(3)); }
  // One colour per meaning across every plot: each series name (a metric, or a way of programming
  // routes such as 'batched') keeps its colour in every chart it appears in, and the ratio bars'
  // verdict colours (green, red, grey) and the black target mark are used for nothing else.
  var STATUS = { met: '#2e7d32', missed: '#c62828', none: '#90a4ae', target: '#000000' };
  var PALETTE = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#e7ba52', '#a55194', '#6baed6', '#fdae6b'];
  var colours = {};
  var used = 0;
  function colourOf(name) {
    if (colours[name] === undefined) {
      var i = used++;
      // Past the palette: golden-angle hues, kept out of the greens and reds that mean met and missed.
      var hue = (i * 137.508) % 200;
      colours[name] = i < PALETTE.length ? PALETTE[i] : 'hsl(' + Math.round(hue < 60 ? 25 + hue / 2 : hue + 110) + ', 65%, ' + (35 + (i % 3) * 12) + '%)';
    }
    return colours[name];
  }
  var byUnit = {};
  data.distributions.forEach(function (d) { (byUnit[d.unit] = byUnit[d.unit] || []).push(d); });
  Object.keys(byUnit).forEach(function (unit, i) {
    var ds = byUnit[unit];
    // The time axis ends at the largest p99.9: one outlier must not squash the rest. Every sample
    // beyond it is counted in the subtitle (outliers holds every sample above each series' p99.9).
    var clip = Math.max.apply(null, ds.map(function (d) { return d.p999; }));
    var beyond = ds.map(function (d) {
      var over = d.outliers.filter(function (v) { return v > clip; });
      return over.length ? d.name + ': ' + over.length + ' (max ' + fmtNum(over[over.length - 1]) + ' ' + unit + ')' : null;
    }).filter(Boolean);
    var axis = percentileMarks(Math.max.apply(null, ds.map(function (d) { return d.count; })));
    var top = axis.top;
    var marks = axis.marks;
    var shown = marks.slice(1).map(percentLabel).join(', ');
    chart('dist-' + i, {
      title: { text: 'Latency distribution (' + unit + ', log scale; percentile axis in nines: ' + shown + ')', left: 'center', textStyle: { fontSize: 13 },
        subtext: 'Time axis clipped at ' + fmtNum(clip) + ' ' + unit + ' (the largest p99.9). ' +
          (beyond.length ? 'Samples beyond it: ' + beyond.join('; ') + '.' : 'No sample lies beyond it.'), subtextStyle: { fontSize: 11 } },
      tooltip: { trigger: 'item', formatter: function (x) { return x.seriesName + '<br>p' + percentLabel(x.value[1]) + ': ' + fmtNum(x.value[0]) + ' ' + unit; } },
      legend: { top: 44 },
      grid: { top: 90, left: 70, right: 30, bottom: 50 },
      xAxis: { type: 'log', name: unit, nameLocation: 'middle', nameGap: 28, min: 'dataMin', max: clip, axisLabel: num },
      yAxis: { type: 'value', name: 'percentile', min: 0, max: top,
        axisLabel: { customValues: marks, formatter: percentLabel }, axisTick: { customValues: marks } },
      series: ds.map(function (d) {
        var pts = [];
        d.quantiles.forEach(function (v, k) {
          var y = nines(d.percentiles[k], d.count);
          if (v <= clip && y <= top) pts.push([Math.max(v, 1e-3), y]);
        });
        var c = colourOf(d.name);
        return { name: d.name + ' (n=' + d.count + ')', type: 'line', showSymbol: false, step: 'end', data: pts, itemStyle: { color: c }, lineStyle: { color: c } };
      })
    });
  });
  data.scaling.forEach(function (p) {
    chart('scale-' + p.id, {
      title: { text: p.title, left: 'center', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis' },
      legend: { top: 28 },
      grid: { top: 70, left: 70, right: 30, bottom: 50 },
      xAxis: { type: 'log', logBase: 2, interval: 1, name: p.xName, nameLocation: 'middle', nameGap: 28, min: 'dataMin', max: 'dataMax', axisLabel: num },
      yAxis: { type: p.logY ? 'log' : 'value', name: p.yName },
      series: p.series.map(function (s) { var c = colourOf(s.name); return { name: s.name, type: 'line', data: s.points, itemStyle: { color: c }, lineStyle: { color: c } }; })
    });
  });
  var ratios = data.metrics.filter(function (m) { return m.ratio !== null; });
  chart('ratios', {
    title: { text: 'Each metric against its baseline (ratio = metric / baseline, log scale)', left: 'center', textStyle: { fontSize: 13 },
      subtext: 'Bars: green = target met, red = target missed, grey = no target. Black mark: the target ratio. Below 1: faster (or fewer commits) than the baseline.',
      subtextStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis' },
    grid: { top: 70, left: 220, right: 40, bottom: 40 },
    xAxis: { type: 'log', name: '× baseline' },
    yAxis: { type: 'category', data: ratios.map(function (m) { return m.name; }) },
    series: [
      { type: 'bar', name: 'ratio', data: ratios.map(function (m) {
        return { value: m.ratio, itemStyle: { color: m.target ? (m.target.met ? STATUS.met : STATUS.missed) : STATUS.none } }; }) },
      { type: 'scatter', name: 'target', symbol: 'rect', symbolSize: [3, 18], itemStyle: { color: STATUS.target },
        data: ratios.map(function (m, k) { return m.target && m.target.ratioMax !== undefined ? [m.target.ratioMax, k] : null; }).filter(Boolean) }
    ]
  });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-charts', String(charts.length));
})();
`;

export function renderReport(result: BenchResult): string {
  const units = [...new Set(result.distributions.map((d) => d.unit))];
  const data = JSON.stringify(result).replace(/</g, '\\u003c');
  const reasons = [...new Set(result.metrics.flatMap((m) => (m.value === null && m.failed === undefined && m.skipped !== undefined ? [m.skipped] : [])))];
  const reasonList = reasons.length
    ? `<p>Not measured here, for these reasons (each row says which):</p>\n<ol class="reasons">${reasons.map((r, i) => `<li id="reason-${i + 1}">${esc(r)}</li>`).join('')}</ol>`
    : '';
  const chartDivs = [
    ...units.map((_, i) => `<div class="chart" id="dist-${i}"></div>`),
    ...result.scaling.map((p) => `<div class="chart" id="scale-${esc(p.id)}"></div>`),
    `<div class="chart tall" id="ratios"></div>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsvmm bench report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
/* The table scrolls inside its box when the window is narrower than it, never the page. */
.table-box { max-width: 100%; overflow-x: auto; margin: 12px 0 24px; }
table { border-collapse: collapse; }
td:last-child { min-width: 200px; }
td:nth-child(7) { min-width: 120px; }
td code { overflow-wrap: anywhere; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.met { color: #2e7d32; } .missed { color: #c62828; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle; }
.chart { width: 100%; max-width: 1000px; height: 380px; margin: 16px 0; }
.chart.tall { height: 460px; }
</style></head>
<body>
<h1>tsvmm bench</h1>
<p>${esc(result.meta.startedAt)}, ${esc(result.meta.host)}, Node ${esc(result.meta.node)}, ${result.meta.quick ? '<b>--quick</b> (few samples)' : 'full run'}, ${(result.meta.durationMs / 1000).toFixed(1)} s.
Each metric and its baseline were measured alternately in the same run. Values are medians; p99 is the 99th percentile (nearest rank) in the same unit, shown where n, the sample count, is at least ${P99_MIN_SAMPLES}.</p>
<p class="legend">Ratio bars: <span class="swatch" style="background:#2e7d32"></span> target met,
<span class="swatch" style="background:#c62828"></span> target missed, <span class="swatch" style="background:#90a4ae"></span> no target;
<span class="swatch" style="background:#000;width:3px"></span> the target ratio; these colours mean nothing else, and every other line keeps one colour in every plot it is in.
Latency plots: percentile on a "nines" axis (50, then 90, 99, 99.9, 99.99 equally spaced, as far as the sample count reaches), time clipped at the largest p99.9 with the samples beyond it counted.</p>
${reasonList}
<div class="table-box"><table><thead><tr><th>metric</th><th>median</th><th>p99</th><th>n</th><th>baseline</th><th>ratio (slower or faster than the baseline; ≈: fewer than ${RATIO_MIN_SAMPLES} samples on a side)</th><th>target</th><th>what</th></tr></thead>
<tbody>${result.metrics.map((m) => metricRow(m, reasons)).join('\n')}</tbody></table></div>
${result.notes.length ? `<ul>${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
${chartDivs}
<script type="application/json" id="tsvmm-data">${data}</script>
<script>${echartsSource()}</script>
<script>${CLIENT}</script>
</body></html>
`;
}

/** Writes `index.html` into `dir` (created if needed); returns its path. */
export function writeReport(dir: string, result: BenchResult): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, renderReport(result));
  return file;
}
