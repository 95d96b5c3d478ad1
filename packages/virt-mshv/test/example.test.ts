import { printedBy } from '../../../scripts/readme-examples.cjs';
import { main } from '../examples/irqfd';

test('the README example runs on the kernel model and prints what it promises', () => {
  let model: ReturnType<typeof main> | undefined;
  const lines = printedBy(() => (model = main()));
  expect(lines).toEqual([
    expect.stringMatching(/^irqfd: MSHV_IRQFD/),
    'VP 1 IRR: ["0x41"]',
    'masked, IRR: []',
    'unmasked, IRR: [65]',
    'VP 0 IRR: [82]',
    '64 routes programmed with 1 commit',
    'hazards the kernel would have hit: 0',
  ]);
  expect(model!.openFds()).toBe(0);
});
