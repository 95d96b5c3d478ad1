// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/irqfd.js', 'examples/irqfd.ts'],
  prints: [
    {
      example: 'examples/irqfd.js',
      does: 'prints what it promises on the kernel model',
      lines: ['VP 1 IRR: [ 65 ]', 'masked, IRR: []', 'unmasked, IRR: [ 65 ]', 'VP 0 IRR: [ 82 ]', 'hazards: [] open fds: 0'],
    },
  ],
});
