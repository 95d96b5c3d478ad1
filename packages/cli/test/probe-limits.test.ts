/**
 * `tsvmm probe` says what this process's confinement costs the Linux backends: the descriptor
 * budget and the routes a partition would promise, and, under a seccomp filter that denies kcmp (a
 * container's default profile), that disposal falls back to /proc/self/fdinfo.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BIN, WIDE, runBin } from './support/run-cli';

test('probe reports RLIMIT_NOFILE and the routes per partition, in text and JSON', () => {
  const text = runBin(['probe'], undefined, WIDE);
  expect(text.stdout).toMatch(/^Limits: RLIMIT_NOFILE \d+ \(\d+ open\): up to \d+ irqfd routes per partition, 2 descriptors each$/m);
  const json = JSON.parse(runBin(['probe', '--json']).stdout) as { host: { limits?: { seccomp: string; kcmp: string; eventFdIdentity: string; routesPerPartition: number } } };
  const limits = json.host.limits!;
  expect(limits.routesPerPartition).toBeGreaterThan(0);
  // This process's own confinement (a CI container may have a filter): the text says it exactly when it is there.
  const seccomp = /^Seccomp:\s*(\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  expect(limits.seccomp).toBe(seccomp === '0' ? 'none' : seccomp === '1' ? 'strict' : 'filter');
  if (limits.kcmp === 'available') expect(limits.eventFdIdentity).toBe('kcmp');
  expect(/Confinement:/.test(text.stdout)).toBe(limits.seccomp === 'filter' || limits.kcmp !== 'available');
});

test('with kcmp denied by a seccomp filter, probe says so and how disposal copes', () => {
  const preload = path.join(__dirname, 'support', 'deny-kcmp.js');
  const r = spawnSync(process.execPath, ['-r', preload, BIN, 'probe'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0', ...WIDE } });
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  expect(r.stdout).toMatch(/^Confinement: a seccomp filter is installed; kcmp is denied, so disposal tells its own descriptors from \/proc\/self\/fdinfo\.$/m);
});
