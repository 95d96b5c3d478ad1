// Each subpath the package exports must resolve to its declarations under every module resolution
// a consumer may use: node10 ignores `exports` and reads subpaths from `typesVersions` only.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { types?: string } | string> };
const subpaths = Object.entries(pkg.exports).filter((e): e is [string, { types: string }] => typeof e[1] === 'object' && e[1].types !== undefined);

describe('every exported subpath resolves to its declarations', () => {
  let consumer = '';
  beforeAll(() => {
    consumer = mkdtempSync(path.join(tmpdir(), 'tsvmm-ffi-consumer-'));
    mkdirSync(path.join(consumer, 'node_modules', '@tsvmm'), { recursive: true });
    symlinkSync(root, path.join(consumer, 'node_modules', pkg.name), 'dir');
    writeFileSync(path.join(consumer, 'index.ts'), '');
  });
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  it('exports a root and a testing subpath with declarations', () => {
    expect(subpaths.map(([sub]) => sub)).toEqual(['.', './testing']);
  });

  for (const [kind, moduleResolution, module] of [
    ['node10', ts.ModuleResolutionKind.Node10, ts.ModuleKind.CommonJS],
    ['node16', ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16],
    ['bundler', ts.ModuleResolutionKind.Bundler, ts.ModuleKind.ESNext],
  ] as const) {
    it(`${kind}: each subpath's types are the file exports names`, () => {
      const resolved = subpaths.map(([sub]) => {
        const specifier = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
        const r = ts.resolveModuleName(specifier, path.join(consumer, 'index.ts'), { moduleResolution, module }, ts.sys);
        return r.resolvedModule?.resolvedFileName;
      });
      expect(resolved).toEqual(subpaths.map(([, e]) => realpathSync(path.join(root, e.types))));
    });
  }
});
