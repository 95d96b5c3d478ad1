// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';
import { example } from '../examples/programmatic';

const { node } = readmeTests(path.resolve(__dirname, '..'), { shows: ['examples/programmatic.js', 'examples/programmatic.ts'] });

test('examples/programmatic.js runs in plain Node: probe, probe --json in-process, the demo on the software backend', () => {
  expect(node(['examples/programmatic.js'])).toMatch(
    /^best backend: \w+\nprobe exited \d; backends: kvm mshv whp software\nevery delivery landed where the guest programmed it\n$/,
  );
});

test('examples/programmatic.ts runs: the same in TypeScript', async () => {
  const lines: unknown[][] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args));
  try {
    await example();
  } finally {
    log.mockRestore();
  }
  expect(lines).toHaveLength(3);
  expect(lines[0]![0]).toMatch(/^best backend: \w+$/);
  expect(lines[2]).toEqual(['every delivery landed where the guest programmed it']);
});
