// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/eventfd.js', 'examples/eventfd.ts', 'examples/file-read-completion.js'],
  prints: [
    { example: 'examples/eventfd.js', lines: ['consumed 2 signals, then 0', 'open failed: UNAVAILABLE ENOENT', 'injected: BUSY'] },
    {
      example: 'examples/file-read-completion.js',
      does: 'the read completes and the kernel signals its eventfd once',
      lines: ['read 1: 26 bytes, "hello from the page cache\\n"', 'completions signalled on the eventfd: 1'],
    },
  ],
});
