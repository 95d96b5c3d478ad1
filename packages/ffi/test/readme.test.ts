// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/layouts.js'],
  prints: [{ example: 'examples/layouts.js', lines: ['32 16 guest_phys_addr', '16 2097152n', '1 65', "[ 'gone' ] true"] }],
});
