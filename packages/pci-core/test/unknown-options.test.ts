/** Unknown option keys of MsixEmulator, its placements and setRoutes are refused. */
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { MsixEmulator } from '../src';

const message = (fn: () => unknown): string => virtErrorThrownBy(fn, 'INVALID_ARGUMENT').message;

const layout = { vectors: 4, table: { bir: 0, offset: 0x1000 }, pba: { bir: 0, offset: 0x2000 } };

it('new MsixEmulator / setRoutes: misspelt keys are INVALID_ARGUMENT naming them', () => {
  expect(message(() => new MsixEmulator({ ...layout, onErorr: () => undefined } as never))).toMatch(/options has unknown key 'onErorr'/);
  expect(message(() => new MsixEmulator({ ...layout, table: { bir: 0, ofset: 0x1000 } } as never))).toMatch(/table has unknown key 'ofset'/);
  const e = new MsixEmulator(layout);
  expect(message(() => e.setRoutes([undefined, undefined, undefined, undefined], { bacth: (fn: () => void) => fn() } as never))).toMatch(/unknown key 'bacth'/);
});
