import { printedBy } from '../../../scripts/readme-examples.cjs';
import { main } from '../examples/follow-event';
import { whpModel } from './support/native-model';

test('the README example runs against the model and prints what it promises', async () => {
  const model = whpModel('no-update');
  model.reset();
  const lines = await printedBy(() => main(model.library));
  expect(lines).toEqual(['vCPU 1 IRR: [65]', 'masked, IRR: []', 'unmasked, IRR: [65]']);
  model.assertClean();
});
