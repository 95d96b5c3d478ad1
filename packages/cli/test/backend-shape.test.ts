/**
 * Every backend folder has the shape docs/new-backend.md documents, and every place outside the
 * folder that the guide names lists it (the CLI's registry and README, the root README's package
 * table and layout, the API index, the interface page, the simulated installs of the pack test).
 * Each check here is a step of the guide, so the guide and the tree cannot drift apart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
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
/**
 * A source file's code: the file as the TypeScript printer writes it without comments, each string
 * and template text then emptied (`""`), so that a step named only in a comment or a string does not count.
 */
const code = (dir: string, ...rel: string[]): string => {
  const name = rel.join('/');
  const printed = ts.createPrinter({ removeComments: true }).printFile(ts.createSourceFile(name, read(dir, ...rel), ts.ScriptTarget.Latest, true));
  const sf = ts.createSourceFile(name, printed, ts.ScriptTarget.Latest, true);
  const literals = nodes(sf)
    .filter((n) => ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n))
    .sort((a, b) => b.getStart(sf) - a.getStart(sf));
  let text = printed;
  for (const n of literals) text = `${text.slice(0, n.getStart(sf))}""${text.slice(n.end)}`;
  return text;
};
/** Whether the code (not a comment) of a file under the package's test folder (any depth) contains `text`. */
const testsMention = (dir: string, text: string): boolean =>
  (fs.readdirSync(file(dir, 'test'), { recursive: true }) as string[])
    .filter((f) => /\.(ts|js)$/.test(f))
    .some((f) => code(dir, 'test', f).includes(text));
/** A TypeScript file parsed (code, not comments or strings, is what the checks below look at). */
const parse = (dir: string, ...rel: string[]): ts.SourceFile => ts.createSourceFile(rel.join('/'), read(dir, ...rel), ts.ScriptTarget.Latest, true);
/** Every node under `root` (depth first). */
const nodes = (root: ts.Node): ts.Node[] => {
  const all: ts.Node[] = [];
  const visit = (n: ts.Node): void => {
    all.push(n);
    n.forEachChild(visit);
  };
  visit(root);
  return all;
};
/** The name of a property, call or declaration as written (`a.b.create` gives `create`), or undefined. */
const nameOf = (n: ts.Node | undefined): string | undefined =>
  n === undefined ? undefined : ts.isIdentifier(n) ? n.text : ts.isPropertyAccessExpression(n) ? n.name.text : undefined;
/** The initializer of `key` in an object literal (`{ key: value }`), or undefined. */
const property = (o: ts.Node | undefined, key: string): ts.Expression | undefined => {
  if (o === undefined || !ts.isObjectLiteralExpression(o)) return undefined;
  for (const p of o.properties) if (ts.isPropertyAssignment(p) && nameOf(p.name) === key) return p.initializer;
  return undefined;
};
/** Whether an object literal somewhere under `root` (spreads included) sets `key: true`. */
const setsTrue = (root: ts.Node, key: string): boolean => nodes(root).some((n) => ts.isObjectLiteralExpression(n) && property(n, key)?.kind === ts.SyntaxKind.TrueKeyword);
/** The calls under `root` of a function or method named `callee`. */
const callsOf = (root: ts.Node, callee: string): ts.CallExpression[] => nodes(root).filter((n): n is ts.CallExpression => ts.isCallExpression(n) && nameOf(n.expression) === callee);
/** Whether a module exports `name` (an export list, or an exported function, class or const), in code. */
const exportsName = (sf: ts.SourceFile, name: string): boolean =>
  sf.statements.some((st) => {
    if (ts.isExportDeclaration(st)) return st.exportClause !== undefined && ts.isNamedExports(st.exportClause) && st.exportClause.elements.some((e) => e.name.text === name);
    const exported = ts.canHaveModifiers(st) && (ts.getModifiers(st) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) return false;
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name?.text === name) return true;
    return ts.isVariableStatement(st) && st.declarationList.declarations.some((d) => nameOf(d.name) === name);
  });

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
    // Layouts come from @tsvmm/ffi: every backend that talks to a kernel or a DLL depends on it.
    if (!IN_PROCESS.has(dir)) expect(Object.keys(pkg.dependencies as Record<string, string>)).toContain('@tsvmm/ffi');
  });

  it('runs the conformance suite (step 7)', () => {
    expect(code(dir, 'test', 'conformance.test.ts')).toMatch(/\bdefineIrqFdConformance\(/);
  });

  it('shows a runnable JavaScript example in its README, checked byte for byte and run by a test (step 10)', () => {
    const marked = [...read(dir, 'README.md').matchAll(/^<!-- example: (examples\/[\w.-]+) -->$/gm)].map((m) => m[1]!);
    expect(marked.filter((f) => f.endsWith('.js')).length).toBeGreaterThan(0);
    for (const f of marked) expect(fs.existsSync(file(dir, ...f.split('/')))).toBe(true);
    expect(code(dir, 'test', 'readme.test.ts')).toMatch(/\breadmeTests\(/);
    // The JavaScript examples are type-checked: a tsconfig.examples.json that takes them, run by the package's typecheck.
    const examples = ts.readConfigFile(file(dir, 'tsconfig.examples.json'), ts.sys.readFile);
    expect(examples.error).toBeUndefined();
    expect((examples.config as { include?: unknown }).include).toEqual(expect.arrayContaining(['examples/**/*.js']));
    expect((examples.config as { compilerOptions?: Record<string, unknown> }).compilerOptions).toEqual(expect.objectContaining({ allowJs: true, checkJs: true }));
    expect((pkg.scripts as Record<string, string>).typecheck).toMatch(/\btsc -p tsconfig\.examples\.json\b/);
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

  it('holds its probe and create to hostile options (step 8)', () => {
    // Directly, or through the Linux backends' suite that runs it with their shared seam cases.
    expect(testsMention(dir, 'defineHostileOptionsConformance(') || testsMention(dir, 'defineLinuxHostileOptionsTests(')).toBe(true);
  });

  it('writes down the interface it relies on', () => {
    expect(fs.existsSync(path.join(ROOT, 'docs', 'interfaces', `${name}.md`))).toBe(true);
  });

  it('runs its test bodies on its model and on its device, and reports what only the device can show', () => {
    const targets = read(dir, 'test', 'support', 'targets.ts');
    // Its own function, or the one `modelAndDevice` (@tsvmm/linux-sys/testing) makes for it.
    expect(targets).toMatch(/export function describeOnTargets\b|export const \{[^}]*\bdescribeOnTargets\b[^}]*\} = modelAndDevice\(/);
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
    // The byte-for-byte encoder vectors (and the C check where the header exists) have a test file of their own
    // (`abi*.test.ts` or `c-abi-check.test.ts`; a driver test such as `driver-abi.test.ts` is not one).
    expect(fs.readdirSync(file(dir, 'test')).filter((f) => /^(c-)?abi\b[\w-]*\.test\.ts$/.test(f)).length).toBeGreaterThan(0);
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
      expect(exportsName(parse(dir, 'src', 'testing', 'index.ts'), 'modelRelayPlatform')).toBe(true);
    });

    it('adds a conformance run with overflow: true whose subject defers the waiter on a model and waits on a thread on a device (step 7)', () => {
      const sf = parse(dir, 'test', 'conformance.test.ts');
      // defineIrqFdConformance({ ..., supports: { overflow: true, ... }, create: () => subject(...) }), in code.
      const overflowRuns = callsOf(sf, 'defineIrqFdConformance').filter((c) => property(property(c.arguments[0], 'supports'), 'overflow')?.kind === ts.SyntaxKind.TrueKeyword);
      expect(overflowRuns.length).toBeGreaterThan(0);
      // The function each run's create calls, declared in the file (`const subject = (...) => { ... }`).
      const declared = new Map<string, ts.Node>();
      for (const n of nodes(sf)) if (ts.isVariableDeclaration(n) && n.initializer !== undefined && nameOf(n.name) !== undefined) declared.set(nameOf(n.name)!, n.initializer);
      for (const run of overflowRuns) {
        const create = property(run.arguments[0], 'create');
        expect(create).toBeDefined();
        const subjects = nodes(create!)
          .filter((n): n is ts.CallExpression => ts.isCallExpression(n))
          .map((c) => declared.get(nameOf(c.expression) ?? ''))
          .filter((d): d is ts.Node => d !== undefined);
        expect(subjects.length).toBeGreaterThan(0);
        for (const subject of subjects) {
          // On a model the relay's waiter is deferred to settle() (the target's create({ deferredRelay: true })) ...
          expect(callsOf(subject, 'create').some((c) => c.arguments.some((a) => property(a, 'deferredRelay')?.kind === ts.SyntaxKind.TrueKeyword))).toBe(true);
          // ... and on a device the suite is told the waiter is a thread.
          expect(setsTrue(subject, 'waiterThread')).toBe(true);
        }
      }
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
