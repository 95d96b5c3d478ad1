// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/unit-test-a-device.js', 'examples/unit-test-a-device.ts', 'examples/intx.js']);
});

test('examples/unit-test-a-device.js runs in plain Node and prints what it promises', () => {
  expect(node(['examples/unit-test-a-device.js'])).toBe('[ 65 ]\ntrue\n');
});

test('examples/intx.js runs in plain Node and prints what it promises', () => {
  expect(node(['examples/intx.js'])).toBe('[ 97 ] true\n1 false\n');
});
