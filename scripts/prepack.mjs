#!/usr/bin/env node
// Every package's `prepack` script: builds the package being packed, and the workspace packages it
// depends on, so that `pnpm pack`, `pnpm publish` (also `-r` and `--dry-run`) and `npm pack` never
// ship a package without its `dist`. The build is turbo's (`turbo run build --filter=<package>`):
// what is up to date comes from turbo's cache in a second. Then every file the package.json points
// at (`main`, `types`, `bin`, `exports`, `typesVersions`) must exist, or packing stops.
//
// Packs that run at the same time (`pnpm pack -r` packs two at once) build one after the other: a
// lock directory in the temporary folder, one per checkout, serializes them.
//
// The build's output goes to stderr: on stdout, `pnpm pack` prints the tarball's name, which scripts read.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = process.cwd();
const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
const fail = (message) => {
  console.error(`prepack ${pkg.name}: ${message}`);
  process.exit(1);
};
if (path.dirname(dir) !== path.join(ROOT, 'packages')) fail(`run from a package folder under ${path.join(ROOT, 'packages')}, not ${dir}`);

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};

// The lock: a directory (mkdir is atomic) holding the owner's pid. A lock whose owner is gone is taken over.
const lock = path.join(tmpdir(), `tsvmm-prepack-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);
const deadline = Date.now() + 15 * 60_000;
for (;;) {
  try {
    mkdirSync(lock);
    writeFileSync(path.join(lock, 'pid'), String(process.pid));
    break;
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    // Being created or removed right now; a lock left without its pid file for a minute is stale.
    if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
  }
  if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
  else if (Date.now() > deadline) fail(`waited 15 minutes for ${lock} (held by pid ${owner}); remove it if no pack is running`);
  else sleep(200);
}
let status;
try {
  const turbo = createRequire(path.join(ROOT, 'package.json')).resolve('turbo/bin/turbo');
  const run = spawnSync(process.execPath, [turbo, 'run', 'build', `--filter=${pkg.name}`, '--output-logs=errors-only'], {
    cwd: ROOT,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 2, 2],
  });
  if (run.error) throw run.error;
  status = run.status;
} finally {
  rmSync(lock, { recursive: true, force: true });
}
if (status !== 0) fail(`the build failed (turbo run build --filter=${pkg.name} exited with ${status})`);

// Every file the manifest points at, now that the build ran.
const targets = new Set();
const collect = (value) => {
  if (typeof value === 'string') targets.add(value);
  else if (Array.isArray(value)) value.forEach(collect);
  else if (value && typeof value === 'object') Object.values(value).forEach(collect);
};
collect([pkg.main, pkg.types, pkg.typings, pkg.bin, pkg.exports, pkg.typesVersions].filter((v) => v !== undefined));
const missing = [...targets].filter((t) => !t.includes('*') && !existsSync(path.join(dir, t)));
if (missing.length > 0) fail(`the build did not produce ${missing.join(', ')}, which package.json points at`);
console.error(`prepack ${pkg.name}: built; the ${targets.size} files package.json points at exist`);
