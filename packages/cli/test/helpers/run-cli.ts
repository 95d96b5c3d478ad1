import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '..', '..', 'dist', 'bin.js');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `tsvmm` binary (what `pnpm demo` and `pnpm bench` run) in a child process. */
export function runBin(args: readonly string[], timeoutMs = 240_000): CliRun {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build the cli first (pnpm build, or npx tsc -p tsconfig.build.json)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, FORCE_COLOR: '0' } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether this host has a usable /dev/kvm; warns loudly (naming what is missing) when not. */
export function kvmUsable(what: string): boolean {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch (e) {
    console.warn(`SKIPPED ${what}: /dev/kvm is not usable here (${(e as Error).message}); this test needs real KVM.`);
    return false;
  }
}
