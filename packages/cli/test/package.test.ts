/**
 * What a user installs: no heavy runtime dependency (the report's chart library is a build-time
 * input, its browser bundle copied into dist/assets by the build), and that copy is what the built
 * CLI inlines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  files: string[];
};

describe('the published tsvmm package', () => {
  it('has a README for users: the repository\'s test internals are in DEVELOPING.md, which is not published', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/^## Tests$/m);
    expect(readme).not.toMatch(/`test\/|\.test\.ts|FaultInjector|jest/);
    expect(fs.readFileSync(path.join(root, 'DEVELOPING.md'), 'utf8')).toMatch(/^## Tests$/m);
    expect(pkg.files).not.toContain('DEVELOPING.md');
    expect(readme).toContain('https://github.com/tsvmm/tsvmm/blob/main/packages/cli/DEVELOPING.md');
  });

  it('depends at run time only on the tsvmm packages, koffi, a small table formatter and a word wrapper', () => {
    const external = Object.keys(pkg.dependencies).filter((d) => !d.startsWith('@tsvmm/'));
    expect(external.sort()).toEqual(['cli-table3', 'koffi', 'wrap-ansi']);
    expect(pkg.devDependencies.echarts).toBeDefined();
    expect(pkg.dependencies.echarts).toBeUndefined();
  });

  it('ships the echarts browser bundle (and its licence) in dist/assets, which the built report reads', () => {
    const asset = path.join(root, 'dist', 'assets', 'echarts.min.js');
    expect(fs.statSync(asset).size).toBeGreaterThan(500_000);
    expect(fs.existsSync(path.join(root, 'dist', 'assets', 'echarts.LICENSE'))).toBe(true);
    expect(pkg.files).toContain('dist');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const report = require(path.join(root, 'dist', 'bench', 'report.js')) as { echartsFile(): string };
    expect(report.echartsFile()).toBe(asset);
  });
});
