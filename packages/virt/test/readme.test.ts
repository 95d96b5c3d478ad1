// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node } = readmeTests(PACKAGE, { shows: ['examples/wire-device.js', 'examples/wire-device.ts'] });

test('examples/wire-device.js is the one scripts/examples-js.mjs makes from examples/wire-device.ts (the .ts without its types)', () => {
  expect(node([path.join(PACKAGE, '../../scripts/examples-js.mjs'), '--check'])).toBe('');
});

test("examples/wire-device.js keeps each function's types as JSDoc, its return type as @returns", () => {
  const js = node(['-p', "require('fs').readFileSync('./examples/wire-device.js', 'utf8')"]);
  expect(js).toContain("@param {import('@tsvmm/virt').Partition} partition\n * @param {number} vectors\n * @returns {import('@tsvmm/virt').IrqFdRoute[]}\n */\nfunction wireDevice(");
  expect(js).toContain("@param {import('@tsvmm/virt').IrqFdRoute} route\n * @returns {boolean}\n */\nfunction pendingBit(");
});

test('examples/wire-device.js loads in plain Node and exports what the README shows (test/example.test.ts drives it)', () => {
  expect(node(['-p', "Object.keys(require('./examples/wire-device.js')).join(' ')"])).toBe('wireDevice pendingBit\n');
});
