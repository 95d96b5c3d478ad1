// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/unit-test-a-device.js', 'examples/unit-test-a-device.ts', 'examples/intx.js'],
  prints: [
    { example: 'examples/unit-test-a-device.js', lines: ['[ 65 ]', 'true'] },
    { example: 'examples/intx.js', lines: ['[ 97 ] true', '1 false'] },
  ],
});
