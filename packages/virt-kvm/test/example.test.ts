import { printedBy } from '../../../scripts/readme-examples.cjs';
import { main } from '../examples/irqfd';
import { describeKvm } from './support/targets';

describeKvm('the README example', () => {
  it('runs and prints what it promises', () => {
    expect(printedBy(main)).toEqual([
      expect.stringMatching(/^irqfd: KVM_IRQFD/),
      'vCPU 1 IRR: ["0x41"]',
      'masked, IRR: []',
      'unmasked, IRR: [65]',
      '64 routes programmed with 1 commit',
    ]);
  });
});

describe('the model example (no /dev/kvm needed)', () => {
  // examples/model.js is the one source (the README shows it): required here as a user would run it.
  it('runs and prints what it promises', () => {
    const lines = printedBy(() =>
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs the example's top level now
        require('../examples/model.js');
      }),
    );
    expect(lines).toEqual(['unmask failed: EBUSY; masked: true', 'vCPU 1 IRR: [65]', 'mediation: kernel kernel emulated', 'vCPU 0 IRR: [80,81,82]', 'hazards: []']);
  });
});
