// Tests of scripts/check-pack.mjs and of scripts/prepack.mjs without pnpm, on a throwaway checkout
// of two small packages (b depends on a): `node --test scripts/check-pack.test.mjs`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPTS = path.dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'tsvmm-check-pack-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A package whose build writes dist/index.js and dist/index.d.ts, with the repository's prepack. */
function makePackage(name, deps = {}) {
  const dir = path.join(root, 'packages', name);
  mkdirSync(dir, { recursive: true });
  const build = "node -e \"const f=require('fs');f.mkdirSync('dist',{recursive:true});f.writeFileSync('dist/index.js','');f.writeFileSync('dist/index.d.ts','')\"";
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name,
      version: '0.0.0',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
      files: ['dist', 'README.md'],
      scripts: { build, prepack: 'node ../../scripts/prepack.mjs' },
      dependencies: deps,
    }),
  );
  writeFileSync(path.join(dir, 'README.md'), `# ${name}\n`);
  return dir;
}
mkdirSync(path.join(root, 'scripts'));
cpSync(path.join(SCRIPTS, 'prepack.mjs'), path.join(root, 'scripts', 'prepack.mjs'));
writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'fixture-root', private: true }));
const a = makePackage('a');
const b = makePackage('b', { a: 'workspace:^' });

const checkPack = () => spawnSync(process.execPath, [path.join(SCRIPTS, 'check-pack.mjs'), '--root', root], { encoding: 'utf8', timeout: 120_000 });

test('check-pack fails on a package that would ship without its build, naming each missing file, and passes once built', () => {
  const bare = checkPack();
  assert.equal(bare.status, 1, bare.stderr);
  assert.match(bare.stderr, /check-pack: a would ship \d+ files without \.\/dist\/index\.js \(main\), \.\/dist\/index\.d\.ts \(types\)/);
  assert.match(bare.stderr, /check-pack: b would ship/);
  // Built, a passes and b alone still fails.
  spawnSync('npm', ['run', 'build', '--silent'], { cwd: a });
  const half = checkPack();
  assert.equal(half.status, 1);
  assert.doesNotMatch(half.stderr, /check-pack: a would ship/);
  assert.match(half.stderr, /check-pack: b would ship/);
  assert.match(half.stderr, /FAILED: 1 of 2 packages/);
  rmSync(path.join(a, 'dist'), { recursive: true });
});

test('npm pack with no pnpm on PATH: the prepack builds the workspace dependencies, then the package, with npm', () => {
  assert.equal(existsSync(path.join(a, 'dist')), false);
  // PATH: only the directories of node and npm (no pnpm there, checked).
  const npmDir = path.dirname(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
  const PATH = [...new Set([path.dirname(process.execPath), npmDir])].join(path.delimiter);
  assert.notEqual(spawnSync('sh', ['-c', 'command -v pnpm'], { env: { PATH } }).status, 0, 'pnpm is on the reduced PATH');
  const env = { ...process.env, PATH };
  delete env.npm_execpath;
  const r = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: b, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /prepack b: built \(npm, no pnpm on PATH\)/);
  const files = JSON.parse(r.stdout)[0].files.map((f) => f.path);
  assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), files.join(', '));
  assert.ok(existsSync(path.join(a, 'dist', 'index.js')), 'the dependency a was not built first');
  assert.equal(checkPack().status, 0);
});
