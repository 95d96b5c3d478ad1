// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const PACKAGE = path.resolve(__dirname, '..');
const CHECKER = path.resolve(PACKAGE, '../../scripts/check-readme-examples.mjs');

function node(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, args, { cwd: PACKAGE, encoding: 'utf8', env: { ...process.env, ...env } });
}

/** The example files a README shows, in order; throws with the checker's report on any drift. */
function readmeExamples(readme = 'README.md'): string[] {
  const [result] = JSON.parse(node([CHECKER, '--json', readme])) as Array<{ examples: Array<{ file: string }> }>;
  return result!.examples.map((e) => e.file);
}
import { existsSync } from 'node:fs';

test('README blocks are byte-identical to the example files', () => {
  expect(readmeExamples()).toEqual(['examples/vmm.js']);
});

test("the root README's \"Use it in your VMM\" block is byte-identical to examples/vmm.js", () => {
  expect(readmeExamples('../../README.md')).toEqual(['packages/pci-core/examples/vmm.js']);
});

test('examples/vmm.js in plain Node delivers vector 0x41 to vCPU 1 (KVM where present, else software)', () => {
  expect(node(['examples/vmm.js'])).toBe(`${existsSync('/dev/kvm') ? 'kvm' : 'software'}: vCPU 1 IRR [65]\n`);
});
