// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each JavaScript file runs here in plain Node 20 in a
// child process, as a user's file would, against the built packages.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHECKER, readmeTests } from '../../../scripts/readme-examples.cjs';
import { describeKvm } from './support/targets';

const { node } = readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/irqfd.js', 'examples/irqfd.ts', 'examples/x2apic.js', 'examples/model.js'],
  prints: [
    {
      example: 'examples/x2apic.js',
      lines: [
        'APIC IDs: 0 255 256 1000',
        'maxApicId: 4095',
        'vCPU 3 IRR: [ 65 ]',
        'kept as: {"addressLo":4277043200,"addressHi":768,"data":66}',
        'vCPU 3 IRR: [ 66 ]',
        'INVALID_MSI destination APIC ID 4096 is above 4095, the largest APIC ID KVM can reach on this partition (maxApicId)',
      ],
    },
    {
      example: 'examples/model.js',
      lines: ['unmask failed: EBUSY; masked: true', 'vCPU 1 IRR: [ 65 ]', 'mediation: kernel kernel emulated', 'vCPU 0 IRR: [ 80, 81, 82 ]', 'hazards: []'],
    },
  ],
});

test('the checker refuses an example that needs a package no `npm install` of its README names', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvmm-readme-'));
  try {
    mkdirSync(path.join(dir, 'examples'));
    writeFileSync(path.join(dir, 'examples', 'x.js'), "const { FaultInjector } = require('@tsvmm/linux-sys/testing');\nrequire('node:fs');\nrequire('./local');\n");
    const readme = (install: string) =>
      `# x\n\n\`\`\`sh\n${install}\n\`\`\`\n\n<!-- example: examples/x.js -->\n\`\`\`js\n${"const { FaultInjector } = require('@tsvmm/linux-sys/testing');\nrequire('node:fs');\nrequire('./local');\n"}\`\`\`\n`;
    const check = (install: string) => {
      writeFileSync(path.join(dir, 'README.md'), readme(install));
      return spawnSync(process.execPath, [CHECKER, path.join(dir, 'README.md')], { encoding: 'utf8' });
    };
    const missing = check('npm install @tsvmm/virt @tsvmm/virt-kvm');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('examples/x.js needs @tsvmm/linux-sys, which no `npm install` command');
    const named = check('npm install --save-dev @tsvmm/linux-sys@^0.1.0   # FaultInjector');
    expect({ status: named.status, stderr: named.stderr }).toEqual({ status: 0, stderr: '' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const IRQFD_OUTPUT = /^irqfd: .+\nvCPU 1 IRR: \[ 65 \]\nmasked, IRR: \[\]\nunmasked, IRR: \[ 65 \]\n64 routes programmed with 1 commit\n$/;

test('examples/irqfd.js runs unchanged on the KVM model (preloaded test/support/on-kvm-model.js), leaving no hazard and no fd', () => {
  const out = node(['-r', './test/support/on-kvm-model.js', 'examples/irqfd.js']);
  expect(out).toMatch(IRQFD_OUTPUT);
  expect(out).toMatch(/^irqfd: KVM_IRQFD/);
});

describeKvm('examples/irqfd.js on /dev/kvm', () => {
  it('runs in plain Node and prints what it promises', () => {
    expect(node(['examples/irqfd.js'])).toMatch(IRQFD_OUTPUT);
  });
});
