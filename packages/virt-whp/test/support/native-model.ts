/**
 * The native WHP model (native/whp_model.c), compiled with `cc` into a private temporary directory
 * for this test file, and its test controls. Each variant is a separate library file, so a variant
 * built without an export truly lacks it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MODEL_RUN_DIR_ENV } from './global-setup';
import type { WhpLibraryPaths } from '../../src';

interface Koffi {
  load(path: string): { func(prototype: string): unknown };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const koffi = require('koffi') as Koffi;

export type ModelVariant = 'full' | 'no-update' | 'no-triggers';
const DEFINES: Record<ModelVariant, string[]> = { full: [], 'no-update': ['-DWHP_MODEL_NO_UPDATE'], 'no-triggers': ['-DWHP_MODEL_NO_TRIGGERS'] };
const SOURCE = path.resolve(__dirname, '..', '..', 'native', 'whp_model.c');

export type ModelSwitch = 'manual_reset' | 'deleted_event_keeps_signal' | 'create_trigger_needs_setup' | 'hold_delivery' | 'hypervisor_present' | 'delivery_delay_ms';
export type LedgerEntry = 'open_events' | 'close_errors' | 'order_violations' | 'bad_handle_uses' | 'live_partitions' | 'live_triggers' | 'deliveries';

export interface WhpModel {
  readonly variant: ModelVariant;
  readonly path: string;
  /** The `library` option for WhpPartition.create. */
  readonly library: WhpLibraryPaths;
  configure(name: ModelSwitch, value: number): void;
  /** Fails the `nth` next call of `fn` (1 = the next) with `hresult`. */
  fail(fn: string, nth: number, hresult: number): void;
  calls(fn: string): number;
  ledger(which: LedgerEntry): number;
  /** 1 signalled, 0 not, -1 not an open event handle. Never consumes. */
  eventState(handle: bigint): number;
  /** Forgets all objects, counts, faults and switches. */
  reset(): void;
  /** Throws unless every handle was closed exactly once, after its trigger, and nothing is alive. */
  assertClean(): void;
}

let dir: string | undefined;
const built = new Map<ModelVariant, WhpModel>();

/**
 * This process's build directory: inside the jest run's directory (test/support/global-setup.ts),
 * which the global teardown removes, since a jest worker does not reliably run `exit` handlers.
 * Outside jest (a script importing this file), in the temporary folder, removed on exit.
 */
function buildDir(): string {
  if (!dir) {
    const run = process.env[MODEL_RUN_DIR_ENV];
    if (run && fs.existsSync(run)) {
      dir = fs.mkdtempSync(path.join(run, 'tsvmm-whp-model-'));
    } else {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-whp-model-'));
      process.on('exit', () => fs.rmSync(dir!, { recursive: true, force: true }));
    }
  }
  return dir;
}

/** The model library of `variant`, built on first use in this process. */
export function whpModel(variant: ModelVariant = 'full'): WhpModel {
  const cached = built.get(variant);
  if (cached) return cached;
  const lib = path.join(buildDir(), `libwhp_model_${variant}.so`);
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-pthread', ...DEFINES[variant], '-o', lib, SOURCE], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const l = koffi.load(lib);
  const configure = l.func('int32_t model_configure(const char *name, int32_t value)') as (n: string, v: number) => number;
  const fail = l.func('int32_t model_fail(const char *fn, uint32_t nth, int32_t hr)') as (f: string, n: number, h: number) => number;
  const calls = l.func('long model_calls(const char *fn)') as (f: string) => number | bigint;
  const ledger = l.func('long model_ledger(const char *which)') as (w: string) => number | bigint;
  const eventState = l.func('int32_t model_event_state(uint64_t h)') as (h: bigint) => number;
  const reset = l.func('void model_reset(void)') as () => void;
  const model: WhpModel = {
    variant,
    path: lib,
    library: { whp: lib, kernel32: lib },
    configure: (n, v) => {
      if (configure(n, v) !== 1) throw new Error(`unknown model switch ${n}`);
    },
    fail: (f, n, h) => {
      if (fail(f, n, h | 0) !== 1) throw new Error('too many armed faults');
    },
    calls: (f) => Number(calls(f)),
    ledger: (w) => Number(ledger(w)),
    eventState: (h) => eventState(h),
    reset,
    assertClean() {
      const entries: LedgerEntry[] = ['open_events', 'close_errors', 'order_violations', 'bad_handle_uses', 'live_partitions', 'live_triggers'];
      const report = Object.fromEntries(entries.map((e) => [e, Number(ledger(e))]));
      const bad = entries.filter((e) => report[e] !== 0);
      if (bad.length > 0) throw new Error(`handle ledger not clean: ${JSON.stringify(report)}`);
    },
  };
  built.set(variant, model);
  return model;
}

/** Every combination of the undocumented behaviours the backend must work under. */
export const SWITCH_SETTINGS: ReadonlyArray<Readonly<{ name: string; manual_reset: number; deleted_event_keeps_signal: number; create_trigger_needs_setup: number }>> = [
  { name: 'auto-reset, deleted event keeps its signal', manual_reset: 0, deleted_event_keeps_signal: 1, create_trigger_needs_setup: 0 },
  { name: 'auto-reset, deleted event drops its signal', manual_reset: 0, deleted_event_keeps_signal: 0, create_trigger_needs_setup: 1 },
  { name: 'manual-reset, deleted event keeps its signal', manual_reset: 1, deleted_event_keeps_signal: 1, create_trigger_needs_setup: 1 },
  { name: 'manual-reset, deleted event drops its signal', manual_reset: 1, deleted_event_keeps_signal: 0, create_trigger_needs_setup: 0 },
];

export function applySettings(model: WhpModel, s: (typeof SWITCH_SETTINGS)[number]): void {
  model.configure('manual_reset', s.manual_reset);
  model.configure('deleted_event_keeps_signal', s.deleted_event_keeps_signal);
  model.configure('create_trigger_needs_setup', s.create_trigger_needs_setup);
}
