// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);
import { whpModel } from './model';

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/follow-event.js', 'examples/follow-event.ts']);
});

test.each(['no-update', 'full'] as const)(
  'examples/follow-event.js runs unchanged on the WHP model (%s; preloaded test/support/on-whp-model.js), leaving the handle ledger clean',
  (variant) => {
    const out = node(['-r', './test/support/on-whp-model.js', 'examples/follow-event.js'], { TSVMM_WHP_MODEL_LIBRARY: whpModel(variant).path });
    expect(out).toBe(['vCPU 1 IRR: [ 65 ]', 'masked, IRR: []', 'unmasked, IRR: [ 65 ]', ''].join('\n'));
  },
);

if (process.platform !== 'win32') {
  test('examples/follow-event.js in plain Node off Windows: fails with the typed UNSUPPORTED error and exit code 1', () => {
    let failure: { status?: number; stderr?: string } | undefined;
    try {
      node(['examples/follow-event.js']);
    } catch (e) {
      failure = e as { status?: number; stderr?: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toMatch(/WHP is unsupported on this platform .*\[UNSUPPORTED\]/);
  });
}
