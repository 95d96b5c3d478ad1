/**
 * No package source asks Node for a diagnostic report: `process.report.getReport()` (and
 * `writeReport`) waits, without a bound, until every worker thread has answered, and a worker
 * blocked in a native call (the relay's epoll worker, a WHP waiter, a user's own thread) never
 * answers. The check reads every file under `packages/<name>/src` from disk and looks at its code
 * tokens, so the reason may be explained in comments but never called.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

const PACKAGES = resolve(__dirname, '..', '..');
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules') return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return SOURCE_FILE.test(e.name) ? [path] : [];
  });
}

/** Each use of the report API in `code` (comments skipped), as `line: what`. */
function reportUses(code: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  const tokens: Array<{ text: string; kind: ts.SyntaxKind; pos: number }> = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    const text = kind === ts.SyntaxKind.StringLiteral || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral ? scanner.getTokenValue() : scanner.getTokenText();
    tokens.push({ text, kind, pos: scanner.getTokenStart() });
  }
  const line = (pos: number) => code.slice(0, pos).split('\n').length;
  const uses: string[] = [];
  tokens.forEach((t, i) => {
    const name = t.kind === ts.SyntaxKind.Identifier || t.kind === ts.SyntaxKind.StringLiteral || t.kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral ? t.text : undefined;
    if (name === 'getReport') {
      uses.push(`${line(t.pos)}: getReport`);
    } else if (name === 'report') {
      const before = tokens.slice(Math.max(0, i - 2), i).map((b) => b.text);
      const after = tokens.slice(i + 1, i + 4).map((a) => a.text);
      // process.report, process?.report, process['report'], and `{ report } = process`.
      if (before[0] === 'process' && (before[1] === '.' || before[1] === '?.' || before[1] === '[')) uses.push(`${line(t.pos)}: process.report`);
      else if (after[0] === '}' && after[1] === '=' && after[2] === 'process') uses.push(`${line(t.pos)}: report destructured from process`);
    }
  });
  return uses;
}

test('the check finds the report API in code, in any spelling, and ignores comments', () => {
  expect(reportUses('const h = process.report.getReport();')).toEqual(['1: process.report', '1: getReport']);
  expect(reportUses('const header = (process.report?.getReport() as Report)?.header;')).toEqual(['1: process.report', '1: getReport']);
  expect(reportUses("x;\nprocess?.report?.['getReport']()")).toEqual(['2: process.report', '2: getReport']);
  expect(reportUses("const { report } = process;\nprocess['report']")).toEqual(['1: report destructured from process', '2: process.report']);
  expect(reportUses('// process.report.getReport() waits for every worker\n/** not getReport either */ const report = 1;')).toEqual([]);
});

test('no source file of any package calls process.report', () => {
  const files = readdirSync(PACKAGES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      try {
        return sourceFiles(join(PACKAGES, e.name, 'src'));
      } catch {
        return [];
      }
    });
  // Every package's sources were read, this one's among them.
  expect(files).toContain(join(PACKAGES, 'linux-sys', 'src', 'platform.ts'));
  expect(files.length).toBeGreaterThan(50);
  const uses = files.flatMap((f) => reportUses(readFileSync(f, 'utf8')).map((u) => `${relative(PACKAGES, f)}:${u}`));
  expect(uses).toEqual([]);
});
