// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/irqfd.js', 'examples/irqfd.ts']);
});

test('examples/irqfd.js runs on the kernel model in plain Node and prints what it promises', () => {
  expect(node(['examples/irqfd.js'])).toBe(
    ['VP 1 IRR: [ 65 ]', 'masked, IRR: []', 'unmasked, IRR: [ 65 ]', 'VP 0 IRR: [ 82 ]', 'hazards: [] open fds: 0', ''].join('\n'),
  );
});
