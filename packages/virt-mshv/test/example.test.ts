import { main } from '../examples/irqfd';

test('the README example runs on the kernel model and prints what it promises', () => {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')));
  let model: ReturnType<typeof main>;
  try {
    model = main();
  } finally {
    log.mockRestore();
  }
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
