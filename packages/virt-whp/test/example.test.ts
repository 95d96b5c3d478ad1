import { main } from '../examples/follow-event';
import { whpModel } from './support/native-model';

test('the README example runs against the model and prints what it promises', async () => {
  const model = whpModel('no-update');
  model.reset();
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')));
  try {
    await main(model.library);
  } finally {
    log.mockRestore();
  }
  expect(lines).toEqual(['vCPU 1 IRR: [65]', 'masked, IRR: []', 'unmasked, IRR: [65]']);
  model.assertClean();
});
