import { existsSync } from 'node:fs';
import { main as kvmMain } from '../examples/kvm';
import { main as softwareMain } from '../examples/software';
import { printedBy } from '../../../scripts/readme-examples.cjs';

// The TypeScript examples the README points to; the JavaScript one (vmm.js) runs in test/readme.test.ts.
describe('TypeScript examples', () => {
  it('software backend: each vector lands on its vCPU', () => {
    expect(printedBy(softwareMain)).toEqual(['vCPU 0 IRR: [80], vCPU 1 IRR: [81]']);
  });

  const kvmIt = existsSync('/dev/kvm') || process.env.TSVMM_ALLOW_NO_KVM !== '1' ? it : it.skip;
  if (!existsSync('/dev/kvm') && process.env.TSVMM_ALLOW_NO_KVM === '1') console.warn('SKIPPED the KVM example: /dev/kvm is missing (TSVMM_ALLOW_NO_KVM=1).');
  kvmIt('KVM: programmed in one commit, delivered to the right vCPUs, mask latches, unmask delivers once', () => {
    expect(printedBy(kvmMain)).toEqual([
      'irqfd: kernel',
      'programmed 4 vectors with 1 routing commits',
      'vCPU 0 IRR: 0x40 0x42',
      'vCPU 1 IRR: 0x41 0x43',
      'masked: PBA 0x2, vCPU 1 IRR: []',
      'unmasked: PBA 0x0, vCPU 1 IRR: 0x41',
    ]);
  });
});
