// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

const backend = existsSync('/dev/kvm') ? 'kvm' : 'software';
const { readmeExamples } = readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/vmm.js', 'examples/msi.js'],
  prints: [
    { example: 'examples/vmm.js', does: 'delivers vector 0x41 to vCPU 1 (KVM where present, else software)', lines: [`${backend}: vCPU 1 IRR [65]`] },
    {
      example: 'examples/msi.js',
      does: 'delivers vector 2 of a 4-message block to vCPU 1 and shows masked vector 3 pending',
      lines: [`${backend}: vCPU 1 IRR [66], Pending Bits 0x8`],
    },
  ],
});

test("the root README's \"Use it in your VMM\" block is byte-identical to examples/vmm.js", () => {
  expect(readmeExamples('../../README.md')).toEqual(['packages/pci-core/examples/vmm.js']);
});
