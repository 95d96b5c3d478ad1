/**
 * Fake checkouts for `bench --against`: a directory whose `packages/cli/dist/bin.js` answers
 * `--version` and `bench --help` as a tsvmm CLI does, and prints a fixed bench document for each run
 * (or hangs, or fails, as configured). Every run appends its start and end, with the time and its
 * arguments, to a log shared by the fakes of one test: the order the runs really happened in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One metric a fake reports: `values[i]` in its i-th run (cycling), or `skipped` and no value. */
export interface FakeMetric {
  readonly name: string;
  readonly unit: string;
  readonly values?: readonly number[];
  readonly skipped?: string;
  readonly failed?: string;
}

export interface FakeConfig {
  /** Which build the fake plays, as written to the log. */
  readonly build: string;
  /** The shared log file. */
  readonly log: string;
  /** What `--version` prints after `tsvmm `. */
  readonly version?: string;
  /** The bench options its help lists (default: this build's). */
  readonly flags?: readonly string[];
  /** `bench --help` fails with this exit code instead, printing no options. */
  readonly helpExit?: number;
  /** `ok` prints the document; `hang` starts a helper process and never answers; `fail` exits 3; `error` prints a JSON error and exits 2. */
  readonly mode?: 'ok' | 'hang' | 'fail' | 'error';
  /** Exit code of an `ok` run (1: a bench whose measurement failed, still with its document). */
  readonly exitCode?: number;
  /** Its metrics by section. */
  readonly sections?: Readonly<Record<string, readonly FakeMetric[]>>;
}

/** A log entry: a run's start (with its argv and pids) or its end. */
export interface FakeLogEntry {
  readonly build: string;
  readonly event: 'start' | 'end' | 'helper';
  /** Milliseconds since the epoch (fractional). */
  readonly t: number;
  readonly pid: number;
  readonly argv?: readonly string[];
}

export const THIS_BUILD_FLAGS = ['quick', 'json', 'report', 'only', 'strict', 'no-progress', 'against', 'rounds', 'help'];

const SCRIPT = String.raw`#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const config = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'fake.json'), 'utf8'));
const args = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const log = (entry) => fs.appendFileSync(config.log, JSON.stringify({ build: config.build, pid: process.pid, t: now(), ...entry }) + '\n');
if (args[0] === '--version') {
  process.stdout.write('tsvmm ' + (config.version || '0.0.0-fake') + '\n');
  return;
}
if (args[0] !== 'bench') {
  process.stderr.write('tsvmm: unknown command\n');
  process.exitCode = 2;
  return;
}
if (args.includes('--help') && config.helpExit) {
  process.stderr.write("tsvmm bench: unknown option '--help'\n");
  process.exitCode = config.helpExit;
  return;
}
if (args.includes('--help')) {
  process.stdout.write('tsvmm bench: fake\n\nOptions:\n' + config.flags.map((f) => (f === 'help' ? '  -h, --help' : '      --' + f) + '  something\n').join('') + '\n');
  return;
}
const runs = fs.existsSync(config.log) ? fs.readFileSync(config.log, 'utf8').split('\n').filter((l) => l && JSON.parse(l).build === config.build && JSON.parse(l).event === 'start').length : 0;
log({ event: 'start', argv: args });
const mode = config.mode || 'ok';
if (mode === 'hang') {
  // A helper in the same process group, holding stdout open as well: only killing the group ends both.
  // Both give up on their own after a while, so that a test that failed still leaves nothing behind.
  const helper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 90000)'], { stdio: ['ignore', 'inherit', 'inherit'] });
  log({ event: 'helper', pid: helper.pid });
  setTimeout(() => {}, 90000);
  return;
}
if (mode === 'fail') {
  process.stderr.write('progress...\ntsvmm bench: the fake build cannot run here\n');
  log({ event: 'end' });
  process.exitCode = 3;
  return;
}
if (mode === 'error') {
  const message = "tsvmm bench: --only takes sections from: delivery, routes (got 'msix'). Run 'tsvmm bench --help' for usage.";
  process.stdout.write(JSON.stringify({ error: { code: 'USAGE', message, exitCode: 2 } }) + '\n');
  log({ event: 'end' });
  process.exitCode = 2;
  return;
}
const at = args.indexOf('--only');
const only = at >= 0 ? args[at + 1].split(',') : Object.keys(config.sections);
const metrics = [];
for (const section of only) {
  for (const m of config.sections[section] || []) {
    const value = m.values ? m.values[runs % m.values.length] : null;
    metrics.push({ name: m.name, unit: m.unit, value, baseline: null, ratio: null, description: 'fake ' + m.name,
      ...(m.skipped ? { skipped: m.skipped } : {}), ...(m.failed ? { failed: m.failed } : {}) });
  }
}
process.stdout.write(JSON.stringify({ metrics, distributions: [], scaling: [], notes: [], meta: { quick: args.includes('--quick') } }, null, 2) + '\n');
log({ event: 'end' });
process.exitCode = config.exitCode || 0;
`;

/** Writes a fake checkout at `dir`; returns `dir`. */
export function fakeCheckout(dir: string, config: FakeConfig): string {
  const bin = path.join(dir, 'packages', 'cli', 'dist', 'bin.js');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(bin, SCRIPT);
  fs.writeFileSync(path.join(dir, 'fake.json'), JSON.stringify({ flags: THIS_BUILD_FLAGS, sections: {}, ...config }));
  return dir;
}

/** The fake's `bin.js` in `dir`. */
export function fakeBin(dir: string): string {
  return path.join(dir, 'packages', 'cli', 'dist', 'bin.js');
}

export function readFakeLog(file: string): FakeLogEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeLogEntry);
}

/** Whether process `pid` still runs: a zombie (dead, not yet reaped by its parent) does not. */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state follows the command name, which is in parentheses and may itself contain them.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
