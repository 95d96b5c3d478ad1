// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const PACKAGE = path.resolve(__dirname, '..');
const CHECKER = path.resolve(PACKAGE, '../../scripts/check-readme-examples.mjs');

function node(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, args, { cwd: PACKAGE, encoding: 'utf8', env: { ...process.env, ...env } });
}

/** The example files a README shows, in order; throws with the checker's report on any drift. */
function readmeExamples(readme = 'README.md'): string[] {
  const [result] = JSON.parse(node([CHECKER, '--json', readme])) as Array<{ examples: Array<{ file: string }> }>;
  return result!.examples.map((e) => e.file);
}

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/eventfd.js', 'examples/eventfd.ts']);
});

test('examples/eventfd.js runs in plain Node and prints what it promises', () => {
  expect(node(['examples/eventfd.js'])).toBe(['consumed 2 signals, then 0', 'open failed: UNAVAILABLE ENOENT', 'injected: BUSY', ''].join('\n'));
});
