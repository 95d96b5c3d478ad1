// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/layouts.js'],
  prints: [{ example: 'examples/layouts.js', lines: ['32 { address_lo: 4276097024, address_hi: 0, data: 65 }', '1 65', "[ 'gone' ] true"] }],
});
