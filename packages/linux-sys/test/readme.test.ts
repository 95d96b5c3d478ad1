// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/eventfd.js', 'examples/eventfd.ts', 'examples/file-read-completion.js']);
});

test('examples/eventfd.js runs in plain Node and prints what it promises', () => {
  expect(node(['examples/eventfd.js'])).toBe(['consumed 2 signals, then 0', 'open failed: UNAVAILABLE ENOENT', 'injected: BUSY', ''].join('\n'));
});

test('examples/file-read-completion.js runs in plain Node: the read completes and the kernel signals its eventfd once', () => {
  expect(node(['examples/file-read-completion.js'])).toBe(['read 1: 26 bytes, "hello from the page cache\\n"', 'completions signalled on the eventfd: 1', ''].join('\n'));
});
