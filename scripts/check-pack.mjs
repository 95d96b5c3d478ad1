#!/usr/bin/env node
// Checks what every package would publish, as `npm pack` would pack it right now, without running
// any script (`npm pack --dry-run --json --ignore-scripts`): each file its package.json points at
// (`main`, `types`, `typings`, `bin`, `exports`, `typesVersions`; a `*` pattern must match at least
// one packed file) must be in the tarball. A package packed without its build (`--ignore-scripts`,
// or a prepack that did not run) ships a README, a LICENSE and a package.json and nothing that
// works: this fails on it, naming each missing file. Run it after the build (`npx -y pnpm@10 build`);
// .ci/run and the release run it before anything is published.
//
//   node scripts/check-pack.mjs [--root DIR]    (DIR: a checkout, default this one; its packages/*)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const at = args.indexOf('--root');
const ROOT = at >= 0 ? path.resolve(args[at + 1] ?? '') : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every path a manifest points at, with the field it is under. */
function targetsOf(pkg) {
  const out = [];
  const collect = (field, value) => {
    if (typeof value === 'string') out.push({ field, target: value });
    else if (Array.isArray(value)) value.forEach((v) => collect(field, v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(`${field}[${JSON.stringify(k)}]`, v);
  };
  for (const field of ['main', 'types', 'typings', 'bin', 'exports', 'typesVersions']) if (pkg[field] !== undefined) collect(field, pkg[field]);
  return out;
}

/** Whether the packed file list holds `target` (`./dist/x.js`), or a file its `*` pattern matches. */
function packs(files, target) {
  const rel = path.posix.normalize(target.replace(/^\.\//, ''));
  if (!rel.includes('*')) return files.has(rel);
  const re = new RegExp(`^${rel.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
  return [...files].some((f) => re.test(f));
}

const npm = /npm-cli\.js$/.test(process.env.npm_execpath ?? '') ? [process.execPath, process.env.npm_execpath] : ['npm'];
const dirs = readdirSync(path.join(ROOT, 'packages'))
  .map((d) => path.join(ROOT, 'packages', d))
  .filter((d) => existsSync(path.join(d, 'package.json')));
if (dirs.length === 0) {
  console.error(`check-pack: no package under ${path.join(ROOT, 'packages')}`);
  process.exit(1);
}
let failed = 0;
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const r = spawnSync(npm[0], [...npm.slice(1), 'pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: dir, encoding: 'utf8' });
  let listed;
  try {
    listed = JSON.parse(r.stdout)[0];
  } catch {
    console.error(`check-pack: ${pkg.name}: npm pack --dry-run failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim()}`);
    failed++;
    continue;
  }
  const files = new Set(listed.files.map((f) => f.path));
  const missing = targetsOf(pkg).filter(({ target }) => !packs(files, target));
  if (missing.length > 0) {
    console.error(
      `check-pack: ${pkg.name} would ship ${files.size} files without ${missing.map((m) => `${m.target} (${m.field})`).join(', ')}: ` +
        'build first (npx -y pnpm@10 build), and never pack or publish with --ignore-scripts',
    );
    failed++;
  } else {
    console.log(`check-pack: ${pkg.name}: ${files.size} files, every one of its ${targetsOf(pkg).length} manifest targets packed`);
  }
}
if (failed > 0) {
  console.error(`check-pack: FAILED: ${failed} of ${dirs.length} packages would ship without what their package.json points at`);
  process.exit(1);
}
console.log(`check-pack: all ${dirs.length} packages pack what their package.json points at`);
