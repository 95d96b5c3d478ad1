// The README shows these examples: each block must be byte-identical to its file, the JavaScript
// one to what scripts/examples-js.mjs makes from the TypeScript (scripts/check-readme-examples.mjs;
// the package's build writes that file, untracked), and each JavaScript file runs here in plain
// Node 20 in a child process, as a user's file would, against the built packages.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node } = readmeTests(PACKAGE, { shows: ['examples/wire-device.js', 'examples/wire-device.ts'] });
const EXAMPLES_JS = path.join(PACKAGE, '../../scripts/examples-js.mjs');

test('examples/wire-device.js is the one scripts/examples-js.mjs makes from examples/wire-device.ts (the .ts without its types)', () => {
  expect(node([EXAMPLES_JS, '--check'])).toBe('');
});

test('the README shows what scripts/examples-js.mjs makes from examples/wire-device.ts, which the README check uses, built or not', () => {
  const made = node(['--input-type=module', '-e', `import { generatedTwin } from ${JSON.stringify(pathToFileURL(EXAMPLES_JS).href)}; process.stdout.write(String(generatedTwin(${JSON.stringify(path.join(PACKAGE, 'examples/wire-device.js'))})))`]);
  expect(made).toMatch(/^\/\/ A device model/);
  expect(readFileSync(path.join(PACKAGE, 'README.md'), 'utf8')).toContain(`<!-- example: examples/wire-device.js -->\n\`\`\`js\n${made}\`\`\`\n`);
});

test("examples/wire-device.js keeps each function's types as JSDoc, its return type as @returns", () => {
  const js = node(['-p', "require('fs').readFileSync('./examples/wire-device.js', 'utf8')"]);
  expect(js).toContain("@param {import('@tsvmm/virt').Partition} partition\n * @param {number} vectors\n * @returns {import('@tsvmm/virt').IrqFdRoute[]}\n */\nfunction wireDevice(");
  expect(js).toContain("@param {import('@tsvmm/virt').IrqFdRoute} route\n * @returns {boolean}\n */\nfunction pendingBit(");
});

test('examples/wire-device.js loads in plain Node and exports what the README shows (test/example.test.ts drives it)', () => {
  expect(node(['-p', "Object.keys(require('./examples/wire-device.js')).join(' ')"])).toBe('wireDevice pendingBit\n');
});
