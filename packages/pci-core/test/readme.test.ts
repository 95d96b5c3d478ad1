// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTools } from '../../../scripts/readme-examples.cjs';

const PACKAGE = path.resolve(__dirname, '..');
const { node, readmeExamples } = readmeTools(PACKAGE);
import { existsSync } from 'node:fs';

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/vmm.js', 'examples/msi.js']);
});

test("the root README's \"Use it in your VMM\" block is byte-identical to examples/vmm.js", () => {
  expect(readmeExamples('../../README.md')).toEqual(['packages/pci-core/examples/vmm.js']);
});

test('examples/vmm.js in plain Node delivers vector 0x41 to vCPU 1 (KVM where present, else software)', () => {
  expect(node(['examples/vmm.js'])).toBe(`${existsSync('/dev/kvm') ? 'kvm' : 'software'}: vCPU 1 IRR [65]\n`);
});

test('examples/msi.js in plain Node delivers vector 2 of a 4-message block to vCPU 1 and shows masked vector 3 pending', () => {
  expect(node(['examples/msi.js'])).toBe(`${existsSync('/dev/kvm') ? 'kvm' : 'software'}: vCPU 1 IRR [66], Pending Bits 0x8\n`);
});
