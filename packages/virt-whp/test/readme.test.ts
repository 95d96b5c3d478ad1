// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';
import { whpModel } from './support/native-model';

const { node } = readmeTests(path.resolve(__dirname, '..'), { shows: ['examples/follow-event.js', 'examples/follow-event.ts', 'examples/x2apic.js'] });

test.each(['no-update', 'full'] as const)(
  'examples/follow-event.js runs unchanged on the WHP model (%s; preloaded test/support/on-whp-model.js), leaving the handle ledger clean',
  (variant) => {
    const out = node(['-r', './test/support/on-whp-model.js', 'examples/follow-event.js'], { TSVMM_WHP_MODEL_LIBRARY: whpModel(variant).path });
    expect(out).toBe(['vCPU 1 IRR: [ 65 ]', 'masked, IRR: []', 'unmasked, IRR: [ 65 ]', ''].join('\n'));
  },
);

test('examples/x2apic.js runs unchanged on the WHP model: APIC ID 256 reached by the upper address and by the extended destination ID, 257 refused naming the limit', () => {
  const out = node(['-r', './test/support/on-whp-model.js', 'examples/x2apic.js'], { TSVMM_WHP_MODEL_LIBRARY: whpModel('full').path });
  expect(out).toBe(
    [
      'vCPU 256 APIC ID: 256',
      'maxApicId: 256',
      'vCPU 256 IRR: [ 65 ]',
      'kept as: {"addressLo":4276092928,"addressHi":256,"data":66}',
      'vCPU 256 IRR: [ 66 ] vCPU 0 IRR: []',
      'INVALID_MSI destination APIC ID 257 is above 256, the largest APIC ID WHP can reach on this partition (maxApicId)',
      '',
    ].join('\n'),
  );
});

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
