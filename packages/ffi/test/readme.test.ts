// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/layouts.js']);
});

test('examples/layouts.js runs in plain Node and prints what it promises', () => {
  expect(node(['examples/layouts.js'])).toBe(
    ['32 16 guest_phys_addr', '16 2097152n', '1 65', "[ 'gone' ] true", ''].join('\n'),
  );
});
