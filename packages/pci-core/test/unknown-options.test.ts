/** Unknown option keys of MsixEmulator, its placements and setRoutes are refused. */
import { isVirtError } from '@tsvmm/virt';
import { MsixEmulator } from '../src';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

const layout = { vectors: 4, table: { bir: 0, offset: 0x1000 }, pba: { bir: 0, offset: 0x2000 } };

it('new MsixEmulator / setRoutes: misspelt keys are INVALID_ARGUMENT naming them', () => {
  expect(message(() => new MsixEmulator({ ...layout, onErorr: () => undefined } as never))).toMatch(/options has unknown key 'onErorr'/);
  expect(message(() => new MsixEmulator({ ...layout, table: { bir: 0, ofset: 0x1000 } } as never))).toMatch(/table has unknown key 'ofset'/);
  const e = new MsixEmulator(layout);
  expect(message(() => e.setRoutes([undefined, undefined, undefined, undefined], { bacth: (fn: () => void) => fn() } as never))).toMatch(/unknown key 'bacth'/);
});
