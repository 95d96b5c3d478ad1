import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResult } from '../src/bench/result';
import { memoryIo } from '../src/cli/io';
import { main } from '../src/cli/main';
import { chromiumMissing, launchChromium, renderedCharts } from './support/chromium';
import { KVM_PROBLEM, itKvm, runBin, type CliRun, WIDE, NO_KVM } from './support/run-cli';

const REQUIRED = [
  'delivery.irqfd',
  'delivery.raw_write',
  'delivery.relay',
  'delivery.relay_c',
  'routes.program_2048.batched',
  'routes.program_2048.per_change',
  'msix.table_write',
  'msix.table_read',
  'msix.baseline_dataview',
  'msix.enable_2048.commits',
];

describe('tsvmm bench --quick', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-bench-'));
  const jsonFile = path.join(dir, 'metrics.json');
  const reportDir = path.join(dir, 'report');
  let run: CliRun;
  let result: BenchResult;

  beforeAll(() => {
    run = runBin(['bench', '--quick', '--json', jsonFile, '--report', reportDir]);
    result = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchResult;
  }, 300_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 0, prints the table on stdout and progress on stderr', () => {
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^metric\s+median\s+p99\s+n\s+ratio\s+target\n/);
    expect(run.stdout).toMatch(/Targets: \d+ of \d+ met/);
    expect(run.stderr).toMatch(/\[1\/\d+\] delivery/);
    expect(run.stderr).toContain(`Metrics written to ${jsonFile}`);
  });

  it('writes every metric under its stable name, with value, baseline and ratio', () => {
    const names = result.metrics.map((m) => m.name);
    for (const n of REQUIRED) expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    for (const m of result.metrics) {
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['name', 'unit', 'value', 'baseline', 'ratio']));
      if (m.value !== null && m.baseline !== null) expect(m.ratio).toBeCloseTo(m.value / m.baseline, 9);
    }
    const byName = new Map(result.metrics.map((m) => [m.name, m]));
    const dv = byName.get('msix.table_write')!;
    expect(dv).toMatchObject({ unit: 'ns', baselineName: 'msix.baseline_dataview' });
    expect(dv.value).toBeGreaterThan(0);
    expect(dv.count).toBeGreaterThan(0);
    expect(dv.baselineCount).toBe(dv.count); // measured alternately: as many runs of each
    expect(byName.get('msix.enable_2048.commits')!.target).toBeDefined();
    // A ratio is against the baseline it names: the same median, p99 and count as that metric reports.
    for (const m of result.metrics) {
      const base = m.baselineName === undefined ? undefined : byName.get(m.baselineName);
      if (!base || m.value === null) continue;
      expect([m.name, m.baseline, m.baselineP99, m.baselineCount]).toEqual([m.name, base.value, base.p99, base.count]);
    }
  });

  (KVM_PROBLEM === undefined ? it.skip : it)('without KVM, reports the KVM benchmarks as unmeasured, with the reason', () => {
    expect(result.metrics.find((m) => m.name === 'delivery.irqfd')!.skipped).toMatch(/KVM/);
  });

  itKvm('measures the KVM benchmarks on real KVM (interleaved with their C baselines)', () => {
    const byName = new Map(result.metrics.map((m) => [m.name, m]));
    for (const n of ['delivery.irqfd', 'delivery.relay']) {
      const m = byName.get(n)!;
      expect(m).not.toHaveProperty('skipped');
      expect(m).not.toHaveProperty('failed');
      expect(m.unit).toBe('µs');
      expect(m.value).toBeGreaterThan(0);
      expect(m.p99).toBeGreaterThanOrEqual(m.value!);
      expect(m.count).toBe(m.baselineCount);
      expect(m.target).toEqual(expect.objectContaining({ ratioMax: expect.any(Number), met: expect.any(Boolean) }));
    }
    // Each figure against its baseline.
    expect(Object.fromEntries(['delivery.irqfd', 'delivery.relay', 'delivery.relay_over_irqfd', 'delivery.overflow'].map((n) => [n, byName.get(n)!.baselineName]))).toEqual({
      'delivery.irqfd': 'delivery.raw_write',
      'delivery.relay': 'delivery.relay_c',
      'delivery.relay_over_irqfd': 'delivery.irqfd',
      'delivery.overflow': 'delivery.relay',
    });
    // The overflow figure is measured in the same rounds as its baseline, and is a real measurement:
    // JSON drops an undefined key, so "not skipped" is the key's absence.
    const overflow = byName.get('delivery.overflow')!;
    expect(overflow).not.toHaveProperty('skipped');
    expect(overflow).not.toHaveProperty('failed');
    expect(overflow.count).toBe(byName.get('delivery.relay')!.count);
    expect(overflow.value).toBeGreaterThan(0);
    const batched = byName.get('routes.program_2048.batched')!;
    expect(batched.unit).toBe('ms');
    expect(batched.baselineName).toBe('routes.program_2048.per_change');
    // Batching is about commits: one against one per change.
    expect(byName.get('routes.program_2048.commits')).toMatchObject({ value: 1, baseline: 2048 });
    expect(byName.get('msix.enable_2048.commits')!.value).toBe(1);
    expect(result.distributions.map((d) => d.name)).toEqual(expect.arrayContaining(['delivery.irqfd', 'delivery.raw_write']));
    expect(result.scaling.map((s) => s.id)).toEqual(expect.arrayContaining(['routes-ms', 'msix-enable']));
  });

  it('writes an HTML report that renders its plots in headless Chromium, offline', async () => {
    const file = path.join(reportDir, 'index.html');
    expect(fs.existsSync(file)).toBe(true);
    const missing = chromiumMissing();
    if (missing) {
      console.warn(`SKIPPED: the bench report was not opened in a browser: ${missing} (TSVMM_ALLOW_NO_CHROMIUM=1)`);
      return;
    }
    const { browser, close } = await launchChromium();
    try {
      const shot = path.join(dir, 'report.png');
      const { charts, requests, errors } = await renderedCharts(browser, file, shot);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const ids = charts.map((c) => c.id);
      expect(ids).toContain('ratios');
      expect(ids.filter((id) => id.startsWith('dist-')).length).toBeGreaterThanOrEqual(1);
      expect(ids).toContain('scale-msix-enable');
      for (const c of charts) {
        expect([c.id, c.width > 100 && c.height > 100]).toEqual([c.id, true]);
        expect([c.id, c.shapes > 10]).toEqual([c.id, true]);
      }
      expect(fs.statSync(shot).size).toBeGreaterThan(20_000);
    } finally {
      await close();
    }
  });
});

describe('tsvmm bench --json -', () => {
  it('puts only the JSON on stdout; the table and progress go to stderr', () => {
    const r = runBin(['bench', '--quick', '--only', 'msix', '--json', '-']);
    expect(r.status).toBe(0);
    const parsed = JSON.parse(r.stdout) as BenchResult;
    expect(parsed.metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['msix.table_write', 'msix.table_read', 'msix.baseline_dataview']));
    expect(r.stderr).toMatch(/^metric\s+median/m);
  });
});

describe('tsvmm bench --strict', () => {
  it('exits 1 exactly when a target in the run was missed', async () => {
    const io = memoryIo(WIDE);
    const code = await main(['bench', '--quick', '--only', 'msix', '--strict', '--json', '-'], io);
    const r = JSON.parse(io.stdout) as BenchResult;
    const missed = r.metrics.filter((m) => m.target && !m.target.met);
    expect(r.metrics.filter((m) => m.target).length).toBeGreaterThanOrEqual(3);
    expect(code).toBe(missed.length > 0 ? 1 : 0);
    if (missed.length) expect(io.stderr).toMatch(/Targets: \d+ of \d+ met \(missed: /);
  });

  it('exits 1 when a target could not be measured here, naming the metrics; 0 without --strict', async () => {
    const strict = memoryIo(WIDE);
    expect(await main(['bench', '--quick', '--only', 'delivery', '--strict', '--json', '-', '--no-progress'], strict, NO_KVM)).toBe(1);
    expect(strict.stderr).toMatch(/^tsvmm bench --strict: failed \(not measured here: delivery\.irqfd, /m);
    const lax = memoryIo(WIDE);
    expect(await main(['bench', '--quick', '--only', 'delivery', '--json', '-', '--no-progress'], lax, NO_KVM)).toBe(0);
  });
});

describe('tsvmm bench errors', () => {
  it('an output path that cannot be written is one line and exit 73 (OUTPUT), before anything is measured', async () => {
    for (const [args, what] of [
      [['--report', '/dev/null/report'], 'the report to /dev/null/report'],
      [['--json', '/dev/null/m.json'], 'the metrics to /dev/null/m.json'],
    ] as const) {
      const io = memoryIo(WIDE);
      expect(await main(['bench', '--quick', '--only', 'msix', ...args], io)).toBe(73);
      expect(io.stdout).toBe('');
      expect(io.stderr).toBe(`tsvmm bench: cannot write ${what}: /dev/null is a file, not a directory (ENOTDIR). Choose a path in a writable directory.\n`);
    }
  });

  it('a path that can never exist (/proc/x) fails at once with the system reason, before anything is measured', async () => {
    for (const dir of ['/proc/x', '/proc/x/y']) {
      const io = memoryIo(WIDE);
      expect([dir, await main(['bench', '--quick', '--only', 'msix', '--json', '-', '--report', dir], io)]).toEqual([dir, 73]);
      expect(JSON.parse(io.stdout)).toEqual({ schema: 'tsvmm-error/1', error: expect.objectContaining({ code: 'OUTPUT', exitCode: 73 }) });
      expect(io.stderr).not.toMatch(/^metric/m);
    }
    for (const file of ['/proc/x/m.json', '/proc/m.json']) {
      const io = memoryIo(WIDE);
      expect([file, await main(['bench', '--quick', '--only', 'msix', '--json', file], io)]).toEqual([file, 73]);
      expect(io.stdout).toBe('');
      expect(io.stderr).toMatch(new RegExp(`^tsvmm bench: cannot write the metrics to ${file}: `));
    }
  }, 20_000);

  it('--json - with an unwritable --report still puts exactly one JSON document (the error) on stdout', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['bench', '--quick', '--only', 'msix', '--json', '-', '--report', '/dev/null/r'], io)).toBe(73);
    expect(JSON.parse(io.stdout)).toEqual({ schema: 'tsvmm-error/1', error: expect.objectContaining({ code: 'OUTPUT', exitCode: 73, message: expect.stringMatching(/cannot write the report/) }) });
  });

  it('--json FILE with a bad option is a usage error with nothing on stdout', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['bench', '--json', 'out.json', '--bogus'], io)).toBe(2);
    expect(io.stdout).toBe('');
    expect(io.stderr).toMatch(/unknown option '--bogus'/);
  });
});
