#!/usr/bin/env node
// Every package's `prepack` script: builds the package being packed, and the workspace packages it
// depends on, so that `pnpm pack`, `pnpm publish` (also `-r` and `--dry-run`) and `npm pack` never
// ship a package without its `dist`. Where a pnpm binary is on PATH the build is turbo's
// (`turbo run build --filter=<package>`, which needs pnpm): what is up to date comes from turbo's
// cache in a second. Without one (`npm pack` in a fresh clone, no global pnpm) each workspace
// package the package depends on, then the package itself, runs its own `build` script with npm,
// dependencies first. Then every file the package.json points at (`main`, `types`, `bin`,
// `exports`, `typesVersions`) must exist, or packing stops. (`npm pack --ignore-scripts` skips all
// of this: scripts/check-pack.mjs is the check that catches a package packed without its build.)
//
// Packs that run at the same time (`pnpm pack -r` packs two at once) build one after the other: a
// lock directory in the temporary folder, one per checkout, serializes them.
//
// The build's output goes to stderr: on stdout, `pnpm pack` prints the tarball's name, which scripts read.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
/** An executable named `name` in a PATH directory, or undefined. */
const onPath = (name) => {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (d === '') continue;
    try {
      accessSync(path.join(d, name), constants.X_OK);
      return path.join(d, name);
    } catch {
      // not there
    }
  }
  return undefined;
};

/** The workspace packages `name` depends on (any kind of dependency, transitively), dependencies first, then itself. */
const buildOrder = (name) => {
  const byName = new Map();
  for (const d of readdirSync(path.join(ROOT, 'packages'))) {
    const file = path.join(ROOT, 'packages', d, 'package.json');
    if (existsSync(file)) byName.set(JSON.parse(readFileSync(file, 'utf8')).name, path.join(ROOT, 'packages', d));
  }
  const order = [];
  const seen = new Set();
  const visit = (n) => {
    if (seen.has(n) || !byName.has(n)) return;
    seen.add(n);
    const p = JSON.parse(readFileSync(path.join(byName.get(n), 'package.json'), 'utf8'));
    for (const deps of [p.dependencies, p.optionalDependencies, p.devDependencies]) for (const d of Object.keys(deps ?? {})) visit(d);
    order.push(byName.get(n));
  };
  visit(name);
  return order;
};

let status;
let how;
try {
  if (onPath('pnpm') !== undefined) {
    how = `turbo run build --filter=${pkg.name}`;
    const turbo = createRequire(path.join(ROOT, 'package.json')).resolve('turbo/bin/turbo');
    const run = spawnSync(process.execPath, [turbo, 'run', 'build', `--filter=${pkg.name}`, '--output-logs=errors-only'], {
      cwd: ROOT,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 2, 2],
    });
    if (run.error) throw run.error;
    status = run.status;
  } else {
    // npm itself: the npm running this script (npm_execpath), else the one on PATH.
    const npmCli = /npm-cli\.js$/.test(process.env.npm_execpath ?? '') ? [process.execPath, process.env.npm_execpath] : [onPath('npm') ?? 'npm'];
    status = 0;
    for (const pkgDir of buildOrder(pkg.name)) {
      how = `npm run build in ${path.relative(ROOT, pkgDir)} (no pnpm on PATH for turbo)`;
      const run = spawnSync(npmCli[0], [...npmCli.slice(1), 'run', 'build', '--silent'], { cwd: pkgDir, stdio: ['ignore', 2, 2] });
      if (run.error) throw run.error;
      status = run.status;
      if (status !== 0) break;
    }
  }
} finally {
  rmSync(lock, { recursive: true, force: true });
}
if (status !== 0) fail(`the build failed (${how} exited with ${status})`);

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
console.error(`prepack ${pkg.name}: built (${onPath('pnpm') !== undefined ? 'turbo' : 'npm, no pnpm on PATH'}); the ${targets.size} files package.json points at exist`);
