import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '..', '..', 'dist', 'bin.js');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment whose text output is as wide as it likes: for tests about what is said, not how it wraps. */
export const WIDE = { COLUMNS: '1000' } as const;

/**
 * Runs the built `tsvmm` binary (what `pnpm demo` and `pnpm bench` run) in a child process, with
 * this process's environment and `env` over it (stdout is a pipe: text wraps to 80 columns unless
 * `env` sets COLUMNS).
 */
export function runBin(args: readonly string[], timeoutMs = 240_000, env: Record<string, string> = {}): CliRun {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build the cli first (pnpm build, or npx tsc -p tsconfig.build.json)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Why /dev/kvm is not usable here, or undefined when it is. */
export const KVM_PROBLEM: string | undefined = (() => {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return undefined;
  } catch (e) {
    return `/dev/kvm is not usable here (${(e as Error).message})`;
  }
})();

/**
 * `it` for a test that needs real KVM: it runs where /dev/kvm is usable. Elsewhere it fails, or,
 * with TSVMM_ALLOW_NO_KVM=1, it is reported as skipped (never passed) with one SKIPPED line.
 */
export function itKvm(name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  if (KVM_PROBLEM === undefined) {
    it(name, fn, timeoutMs);
  } else if (process.env.TSVMM_ALLOW_NO_KVM === '1') {
    process.stderr.write(`SKIPPED "${name}": ${KVM_PROBLEM} (TSVMM_ALLOW_NO_KVM=1)\n`);
    it.skip(`${name} (needs /dev/kvm: ${KVM_PROBLEM})`, fn);
  } else {
    it(name, () => {
      throw new Error(`${KVM_PROBLEM}: this test needs real KVM. Set TSVMM_ALLOW_NO_KVM=1 to skip it on a host without it.`);
    });
  }
}

/** `main`'s options for a host without KVM: one `kvm` backend that probes as missing and is never opened. */
export const NO_KVM = {
  backends: [
    {
      name: 'kvm',
      probe: () => ({ backend: 'kvm', available: false, code: 'no-device' as const, reason: 'no /dev/kvm on the test host.' }),
      open: (): never => {
        throw new Error('not opened without KVM');
      },
    },
  ],
};
