/// <reference lib="dom" />
/**
 * Headless Chromium through playwright-core, with the flags this sandbox needs (no sandbox, no
 * background networking: the network is closed) and a fresh profile per launch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.TSVMM_CHROMIUM ?? '/usr/bin/chromium';

/** Whether a missing Chromium may skip the browser test (only with TSVMM_ALLOW_NO_CHROMIUM=1). */
export function chromiumMissing(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  const msg = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`;
  if (process.env.TSVMM_ALLOW_NO_CHROMIUM === '1') return msg;
  throw new Error(`${msg}, or set TSVMM_ALLOW_NO_CHROMIUM=1 to skip the browser test.`);
}

export async function launchChromium(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-chromium-'));
  // A fresh, empty profile (--user-data-dir) per launch.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 900 },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RenderedChart {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Drawn SVG elements (paths, text) inside the chart. */
  readonly shapes: number;
  /** The chart's SVG text (titles, legends, axis labels). */
  readonly labels: string[];
  /** Each series as echarts drew it: its name, its colour, and each data item's own colour. */
  readonly series: { readonly name: string; readonly colour: string; readonly items: string[] }[];
}

/** Opens a report file and returns each chart container with its rendered SVG size and shape count. */
export async function renderedCharts(browser: BrowserContext, file: string, screenshot?: string): Promise<{ charts: RenderedChart[]; requests: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => document.body.getAttribute('data-charts') !== null, undefined, { timeout: 20_000 });
  const charts = await page.$$eval('.chart', (els) => {
    /** The colours echarts resolved for each series of the chart in `el` (its model's visuals: what it paints with). */
    type Visual = { fill?: string; stroke?: string } | undefined;
    interface SeriesData {
      count(): number;
      getVisual(key: 'style'): Visual;
      getItemVisual(i: number, key: 'style'): Visual;
    }
    const echarts = (window as unknown as { echarts: { getInstanceByDom(el: Element): { getModel(): { getSeries(): { name: string; getData(): SeriesData }[] } } | undefined } })
      .echarts;
    const seriesColours = (el: Element): { name: string; colour: string; items: string[] }[] =>
      (echarts.getInstanceByDom(el)?.getModel().getSeries() ?? []).map((sm) => {
        const data = sm.getData();
        const style = data.getVisual('style');
        const items = Array.from({ length: data.count() }, (_, i) => String(data.getItemVisual(i, 'style')?.fill ?? ''));
        return { name: sm.name, colour: String(style?.stroke ?? style?.fill ?? ''), items };
      });
    return els.map((el) => {
      const svg = el.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return {
        id: el.id,
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        shapes: svg ? svg.querySelectorAll('path, text').length : 0,
        labels: svg ? Array.from(svg.querySelectorAll('text'), (t) => t.textContent ?? '') : [],
        series: seriesColours(el),
      };
    });
  });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { charts, requests, errors };
}
