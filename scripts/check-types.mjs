#!/usr/bin/env node
// Type-checks the packages as a TypeScript user gets them: installs every packed tarball (npm, into an
// empty project outside the workspace, no @types package at all), then compiles a small program that
// imports each package's root and every public subpath its package.json `exports` lists, and uses the
// `Disposable` shape of the contract (`[Symbol.dispose]()`, and `using` where the lib declares it).
// Every combination must compile with no error, declaration files included (skipLibCheck off):
//
//   module resolution  node10 (moduleResolution "node", which ignores `exports`), node16 (a CommonJS
//                      and an ES module importer) and bundler
//   lib                ["ES2022"] and ["ES2022", "ESNext.Disposable"]
//
// The compilers: the workspace's own TypeScript (the root devDependency), and the oldest TypeScript
// the packages promise to support (MIN_TYPESCRIPT below, installed from the npm registry into the
// scratch project; TSVMM_MIN_TYPESCRIPT overrides it, e.g. to see an older one fail).
//
// Usage: node scripts/check-types.mjs <directory of .tgz tarballs>
// Prints one line per combination; on any error prints the compiler's output and exits 1.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSC = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/lib/tsc.js');
const TS_VERSION = createRequire(path.join(ROOT, 'package.json'))('typescript/package.json').version;
// The oldest TypeScript the declarations support: 5.7 made the typed arrays generic
// (`Uint32Array<ArrayBuffer>`), which the declarations emitted by the workspace's compiler name.
const MIN_TYPESCRIPT = process.env.TSVMM_MIN_TYPESCRIPT || '5.7';

const LIBS = {
  'ES2022': ['ES2022'],
  'ES2022+ESNext.Disposable': ['ES2022', 'ESNext.Disposable'],
};
// Each resolution: its compiler options and the importer files it compiles (by extension: .ts
// follows `module`; .cts and .mts are a CommonJS and an ES module importer under node16).
const RESOLUTIONS = {
  node10: { options: { module: 'commonjs', moduleResolution: 'node10' }, importers: ['.ts'] },
  node16: { options: { module: 'node16', moduleResolution: 'node16' }, importers: ['.cts', '.mts'] },
  bundler: { options: { module: 'preserve', moduleResolution: 'bundler' }, importers: ['.ts'] },
};

const fail = (message) => {
  console.error(`check-types: ${message}`);
  process.exit(1);
};

const tarballDir = path.resolve(process.argv[2] ?? fail('usage: node scripts/check-types.mjs <tarball directory>'));
const tarballs = readdirSync(tarballDir)
  .filter((f) => f.endsWith('.tgz'))
  .map((f) => path.join(tarballDir, f));
if (tarballs.length === 0) fail(`no .tgz in ${tarballDir}`);

// Every package and its public entry points, from the packed package.json.
const entries = [];
for (const file of tarballs) {
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
  const subpaths = pkg.exports && typeof pkg.exports === 'object' && !Array.isArray(pkg.exports) && Object.keys(pkg.exports).some((k) => k.startsWith('.'))
    ? Object.keys(pkg.exports)
    : ['.'];
  for (const subpath of subpaths) {
    if (subpath.includes('*') || subpath.endsWith('.json')) continue;
    entries.push(subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`);
  }
}
entries.sort();
const usesVirt = entries.includes('@tsvmm/virt');

const work = mkdtempSync(path.join(process.env.TMPDIR || tmpdir(), 'tsvmm-check-types-'));
const keep = process.env.TSVMM_KEEP_TMP === '1';
process.on('exit', () => {
  if (!keep) rmSync(work, { recursive: true, force: true });
});
const app = path.join(work, 'app');
mkdirSync(app);
writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: 'tsvmm-types-check', version: '1.0.0', private: true }, null, 2)}\n`);
// Types do not depend on the platform: off Linux x64, --force installs the Linux-only packages anyway.
// No install script runs (nothing is executed here).
const force = process.platform === 'linux' && process.arch === 'x64' ? [] : ['--force'];
const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...force, ...tarballs], {
  cwd: app,
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
if (npm.status !== 0) fail(`npm install of the tarballs failed:\n${npm.stdout}${npm.stderr}`);
// The oldest supported compiler, in a folder of its own so the program resolves the packages as before.
const minDir = path.join(work, 'typescript-min');
mkdirSync(minDir);
writeFileSync(path.join(minDir, 'package.json'), `${JSON.stringify({ name: 'tsvmm-types-min', version: '1.0.0', private: true }, null, 2)}\n`);
const minNpm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', `typescript@~${MIN_TYPESCRIPT}`], {
  cwd: minDir,
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
if (minNpm.status !== 0) fail(`npm install of typescript@~${MIN_TYPESCRIPT} failed:\n${minNpm.stdout}${minNpm.stderr}`);
const MIN_TSC = path.join(minDir, 'node_modules', 'typescript', 'lib', 'tsc.js');
const MIN_VERSION = JSON.parse(readFileSync(path.join(minDir, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
const COMPILERS = [
  { version: TS_VERSION, tsc: TSC },
  { version: MIN_VERSION, tsc: MIN_TSC },
];

// The program: one import per entry point, each used, so that every declaration file is loaded and
// checked; then the Disposable shape, without and with `using`.
const importer = entries.map((spec, i) => `import * as entry${i} from '${spec}';`);
importer.push(`export const entries = [${entries.map((_, i) => `entry${i}`).join(', ')}] as const;`);
const disposable = usesVirt
  ? [
      "import type { Partition } from '@tsvmm/virt';",
      '// Disposal through the well-known symbol, with or without the ESNext.Disposable lib.',
      'export function release(p: Partition): void {',
      '  p[Symbol.dispose]();',
      '  const shape: { [Symbol.dispose](): void } = p;',
      '  shape[Symbol.dispose]();',
      '}',
    ]
  : [];
const using = usesVirt
  ? [
      "import type { Partition } from '@tsvmm/virt';",
      '// A partition in a `using` declaration (needs the ESNext.Disposable lib).',
      'export function scoped(open: () => Partition): number {',
      '  using p = open();',
      '  return p.vcpuCount;',
      '}',
    ]
  : [];

const results = [];
for (const [resolution, { options, importers }] of Object.entries(RESOLUTIONS)) {
  for (const [libName, lib] of Object.entries(LIBS)) {
    const dir = path.join(app, `${resolution}-${libName.replace(/[^A-Za-z0-9]+/g, '-')}`);
    mkdirSync(dir);
    const files = [];
    for (const ext of importers) {
      writeFileSync(path.join(dir, `imports${ext}`), `${importer.join('\n')}\n`);
      files.push(`imports${ext}`);
      if (disposable.length > 0) {
        writeFileSync(path.join(dir, `dispose${ext}`), `${disposable.join('\n')}\n`);
        files.push(`dispose${ext}`);
      }
      if (using.length > 0 && lib.includes('ESNext.Disposable')) {
        writeFileSync(path.join(dir, `using${ext}`), `${using.join('\n')}\n`);
        files.push(`using${ext}`);
      }
    }
    const tsconfig = {
      compilerOptions: {
        ...options,
        target: 'ES2022',
        lib,
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // The program's own files are scratch; the declaration files are what is checked.
        noUnusedLocals: false,
      },
      files,
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    for (const { version, tsc } of COMPILERS) {
      const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
      const output = `${run.stdout}${run.stderr}`.trim();
      const errors = (output.match(/error TS\d+/g) ?? []).length;
      results.push({ typescript: version, resolution, lib: libName, ok: run.status === 0 && errors === 0, errors, output, files });
    }
  }
}

console.log(`check-types: TypeScript ${TS_VERSION} and ${MIN_VERSION} (the oldest supported), ${entries.length} entry points: ${entries.join(', ')}`);
for (const r of results) {
  const label = `TypeScript ${r.typescript.padEnd(6)} ${r.resolution.padEnd(8)} lib ${r.lib.padEnd(25)}`;
  console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${label} ${r.ok ? '' : `${r.errors} error${r.errors === 1 ? '' : 's'}`}`.trimEnd());
}
const failed = results.filter((r) => !r.ok);
for (const r of failed) {
  console.error(`\n== TypeScript ${r.typescript}, ${r.resolution}, lib ${r.lib} (${r.files.join(', ')}):`);
  console.error(r.output.replaceAll(`${app}${path.sep}`, ''));
}
if (failed.length > 0) fail(`${failed.length} of ${results.length} combinations do not type-check (see above)`);
console.log(`check-types: every entry point type-checks with TypeScript ${TS_VERSION} and ${MIN_VERSION}, under ${Object.keys(RESOLUTIONS).join(', ')} x ${Object.keys(LIBS).length} libs`);
