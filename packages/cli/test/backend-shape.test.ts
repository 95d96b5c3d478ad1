/**
 * Every backend folder has the shape docs/new-backend.md documents, and every place outside the
 * folder that the guide names lists it (the CLI's registry and README, the root README's package
 * table and layout, the API index, the interface page, the simulated installs of the pack test).
 * Each check here is a step of the guide, so the guide and the tree cannot drift apart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS } from '../src/backends/registry';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PACKAGES = path.join(ROOT, 'packages');
const backendFolders = fs
  .readdirSync(PACKAGES)
  .filter((d) => d.startsWith('virt-') && fs.existsSync(path.join(PACKAGES, d, 'package.json')))
  .sort();
/** Backends that model the hypervisor in-process: no ABI, no calls, no kernel or DLL model. */
const IN_PROCESS = new Set(['virt-software']);

const file = (dir: string, ...rel: string[]): string => path.join(PACKAGES, dir, ...rel);
const read = (dir: string, ...rel: string[]): string => fs.readFileSync(file(dir, ...rel), 'utf8');
const readRoot = (...rel: string[]): string => fs.readFileSync(path.join(ROOT, ...rel), 'utf8');
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A source file's text without its comments, so that a step named only in a comment does not count. */
const code = (dir: string, ...rel: string[]): string => read(dir, ...rel).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
/** Whether the code (not a comment) of a file under the package's test folder (any depth) contains `text`. */
const testsMention = (dir: string, text: string): boolean =>
  (fs.readdirSync(file(dir, 'test'), { recursive: true }) as string[])
    .filter((f) => /\.(ts|js)$/.test(f))
    .some((f) => code(dir, 'test', f).includes(text));
/** The package's `src` files (any depth) as paths relative to `src`. */
const sources = (dir: string): string[] =>
  fs.existsSync(file(dir, 'src')) ? (fs.readdirSync(file(dir, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')) : [];

test('there are backend folders, and the registry lists exactly them', () => {
  expect(backendFolders).toEqual(expect.arrayContaining(['virt-kvm', 'virt-mshv', 'virt-software', 'virt-whp']));
  expect(BACKENDS.map((b) => `virt-${b.name}`).sort()).toEqual(backendFolders);
  // A backend that installs only on some platforms (`os`, `cpu`) is an optional dependency of the
  // CLI: a required one would make `npm i tsvmm` fail (EBADPLATFORM) everywhere else.
  const cli = JSON.parse(read('cli', 'package.json')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
  const cliDeps = Object.keys({ ...cli.dependencies, ...cli.optionalDependencies });
  for (const d of backendFolders) {
    expect(cliDeps).toContain(`@tsvmm/${d}`);
    const backend = JSON.parse(read(d, 'package.json')) as { os?: unknown; cpu?: unknown };
    if (backend.os !== undefined || backend.cpu !== undefined) expect(Object.keys(cli.optionalDependencies ?? {})).toContain(`@tsvmm/${d}`);
  }
});

describe.each(backendFolders)('packages/%s', (dir) => {
  const name = dir.slice('virt-'.length);
  const pkg = JSON.parse(read(dir, 'package.json')) as Record<string, unknown> & { files: string[]; exports: Record<string, unknown> };

  it('is a publishable package named for the backend, with the licence and a README that says how to install it', () => {
    expect(pkg.name).toBe(`@tsvmm/${dir}`);
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
    expect(read(dir, 'LICENSE')).toBe(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
    const readme = read(dir, 'README.md');
    expect(readme).toContain(`npm install`);
    expect(readme).toContain(`@tsvmm/${dir}`);
    expect(readme).toMatch(/^## Requirements/m);
    expect(fs.readdirSync(file(dir, 'examples')).length).toBeGreaterThan(0);
  });

  it('exports its descriptor from the package root, and it probes without throwing', () => {
    expect(read(dir, 'src', 'index.ts')).toMatch(new RegExp(`\\b${name}Backend\\b`));
    expect(fs.existsSync(file(dir, 'src', 'backend.ts'))).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`@tsvmm/${dir}`) as Record<string, { name: string; probe: () => { backend: string; code: string }; open: unknown }>;
    const d = mod[`${name}Backend`]!;
    expect(d.name).toBe(name);
    expect(typeof d.open).toBe('function');
    const p = d.probe();
    expect(p.backend).toBe(name);
    expect(p.code).toMatch(/^(ok|platform|no-device|permission|unsupported|missing-export|load-failed|error)$/);
  });

  it('is set up as the guide says: version, build settings, jest, dependencies (step 2)', () => {
    expect(pkg.version).toBe('0.0.0');
    const build = JSON.parse(read(dir, 'tsconfig.build.json')) as { compilerOptions: Record<string, unknown> };
    expect(build.compilerOptions).toEqual(expect.objectContaining({ sourceMap: false, stripInternal: true }));
    expect(fs.existsSync(file(dir, 'tsconfig.json'))).toBe(true);
    expect(fs.existsSync(file(dir, 'jest.config.js'))).toBe(true);
    expect(Object.keys(pkg.dependencies as Record<string, string>)).toContain('@tsvmm/virt');
  });

  it('runs the conformance suite (step 7)', () => {
    expect(code(dir, 'test', 'conformance.test.ts')).toMatch(/\bdefineIrqFdConformance\(/);
  });

  it('shows a runnable JavaScript example in its README, checked byte for byte and run by a test (step 10)', () => {
    const marked = [...read(dir, 'README.md').matchAll(/^<!-- example: (examples\/[\w.-]+) -->$/gm)].map((m) => m[1]!);
    expect(marked.filter((f) => f.endsWith('.js')).length).toBeGreaterThan(0);
    for (const f of marked) expect(fs.existsSync(file(dir, ...f.split('/')))).toBe(true);
    expect(code(dir, 'test', 'readme.test.ts')).toMatch(/\breadmeTests\(/);
  });

  it('describes itself in its one first-release changeset (step 11)', () => {
    const entry = path.join(ROOT, '.changeset', `${dir}-first-release.md`);
    expect(fs.existsSync(entry)).toBe(true);
    const names = [...fs.readFileSync(entry, 'utf8').split(/^---$/m)[1]!.matchAll(/^"([^"]+)":/gm)].map((m) => m[1]);
    expect(names).toEqual([`@tsvmm/${dir}`]);
  });

  it('is listed everywhere outside its folder that the guide names', () => {
    // The root README's package table and its layout tree, and the API reference's index page.
    expect(readRoot('README.md')).toMatch(new RegExp(`^\\| \\[\`@tsvmm/${escape(dir)}\`\\]\\(packages/${escape(dir)}\\) \\|`, 'm'));
    expect(readRoot('README.md')).toMatch(new RegExp(`^  ${escape(dir)}/ `, 'm'));
    expect(readRoot('docs', 'api-index.md')).toMatch(new RegExp(`^\\| \`@tsvmm/${escape(dir)}\` \\|`, 'm'));
    // TypeDoc takes every package with its own typedoc.json.
    expect(fs.existsSync(file(dir, 'typedoc.json'))).toBe(true);
    // The CLI's README names the descriptor; the pack test's simulated installs expect it.
    expect(read('cli', 'README.md').replace(/\s+/g, ' ')).toContain(`\`${name}Backend\` from \`@tsvmm/${dir}\``);
    expect(readRoot('scripts', 'pack-install-test.sh')).toContain(`['@tsvmm/${dir}', '${name}']`);
  });

  if (IN_PROCESS.has(dir)) return;

  it('writes down the interface it relies on', () => {
    expect(fs.existsSync(path.join(ROOT, 'docs', 'interfaces', `${name}.md`))).toBe(true);
  });

  it('runs its test bodies on its model and on its device, and reports what only the device can show', () => {
    const targets = read(dir, 'test', 'support', 'targets.ts');
    expect(targets).toContain('export function describeOnTargets');
    // The device half: `describeWithDevice` (Linux), or its own loud skip (`SKIPPED` with the reason).
    expect(targets).toMatch(/describeWithDevice|SKIPPED/);
    expect(read(dir, 'test', 'conformance.test.ts')).toContain('describeOnTargets(');
    // The global teardown is the device-only report, or a teardown that runs it (after its own cleanup).
    const teardown = /globalTeardown: '<rootDir>\/(test\/support\/[\w-]+\.ts)'/.exec(read(dir, 'jest.config.js'))?.[1];
    expect(teardown).toBeDefined();
    if (teardown !== 'test/support/device-only-report.ts') {
      expect(read(dir, ...teardown!.split('/'))).toMatch(/import deviceOnlyReport from '\.\/device-only-report';[\s\S]*deviceOnlyReport\(\);/);
    }
    expect(fs.existsSync(file(dir, 'test', 'support', 'device-only.ts'))).toBe(true);
  });

  it('tests its ABI encoders and its model on their own (steps 3 and 6)', () => {
    // The byte-for-byte encoder vectors (and the C check where the header exists) have a test file of their own.
    expect(fs.readdirSync(file(dir, 'test')).filter((f) => /abi[\w-]*\.test\.ts$/.test(f)).length).toBeGreaterThan(0);
    // The model's own tests, which hold it to the interface page rather than to the backend.
    const modelTests = fs.existsSync(file(dir, 'test', 'model')) ? fs.readdirSync(file(dir, 'test', 'model')).filter((f) => f.endsWith('.test.ts')) : [];
    expect(modelTests.length).toBeGreaterThan(0);
    // A kernel model on the shared file table also runs the shared file-table suite and fails calls on demand.
    if (sources(dir).some((f) => f.startsWith('testing') && /\bModelFileTable\b/.test(read(dir, 'src', f)))) {
      expect(testsMention(dir, 'modelFileTests(')).toBe(true);
      expect(testsMention(dir, 'FaultInjector')).toBe(true);
    }
  });

  // A Linux backend whose irqfd is the shared engine (any source naming the engine, its backend
  // interface or its constructors) runs the engine's suites on its targets and can put its overflow
  // relay on its model.
  const onEngine = sources(dir).some((f) => /\b(createPartitionIrqFd|createLinuxIrqFd|IrqFdEngine|IrqFdBackend)\b/.test(code(dir, 'src', f)));
  if (onEngine) {
    it('describes its IrqFdBackend in src/irqfd.ts, builds its irqfd with createPartitionIrqFd, and its partition closes with it (step 5)', () => {
      expect(code(dir, 'src', 'irqfd.ts')).toMatch(/\bIrqFdBackend\b/);
      expect(sources(dir).some((f) => /\bcreatePartitionIrqFd\(/.test(code(dir, 'src', f)))).toBe(true);
      expect(Object.keys(pkg.dependencies as Record<string, string>)).toEqual(expect.arrayContaining(['@tsvmm/linux-sys', '@tsvmm/ffi']));
      expect(code(dir, 'src', 'partition.ts')).toMatch(/\bwhenClosed\(\): Promise<void> \{\s*return this\.\w+\??\.whenClosed\(\)/);
    });

    it('runs the irqfd fault suite and the engine route suites on its targets, with an overflow run, and ships a model relay platform (step 7)', () => {
      expect(testsMention(dir, 'defineIrqFdFaultSuite(target.adapter')).toBe(true);
      expect(fs.existsSync(file(dir, 'test', 'support', 'fault-adapter.ts'))).toBe(true);
      for (const suite of ['irqFdEventNumberTests(', 'irqFdRouteCycleTests(', 'overflowRelayPlatformTests(', 'linuxIrqFdTarget(']) expect([suite, testsMention(dir, suite)]).toEqual([suite, true]);
      expect(code(dir, 'test', 'conformance.test.ts')).toMatch(/\boverflow: true\b/);
      expect(read(dir, 'src', 'testing', 'index.ts')).toMatch(/\bmodelRelayPlatform\b/);
    });
  }

  it('keeps its ABI in one module and issues its calls from one module', () => {
    expect(read(dir, 'src', 'abi.ts')).toMatch(/defineStruct|defineLayout|defineTable|embedLayout/);
    expect(fs.existsSync(file(dir, 'src', 'calls.ts'))).toBe(true);
  });

  it('ships a model of its kernel or DLL to test against', () => {
    const kernelModel = fs.existsSync(file(dir, 'src', 'testing', 'index.ts')) && pkg.exports['./testing'] !== undefined;
    const nativeModel = fs.existsSync(file(dir, 'native')) && fs.readdirSync(file(dir, 'native')).some((f) => f.endsWith('.c'));
    expect(kernelModel || nativeModel).toBe(true);
  });
});
