/** Unknown option keys, at the top and in `library`, are refused before anything is loaded. */
import { isVirtError } from '@tsvmm/virt';
import { WhpPartition } from '../src';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

it('WhpPartition.create: misspelt keys are INVALID_ARGUMENT naming them', () => {
  expect(message(() => WhpPartition.create({ vcpus: 2, maxRoute: 8 } as never))).toMatch(/unknown key 'maxRoute'/);
  expect(message(() => WhpPartition.create({ vcpus: 2, library: { whp: 'a.dll', kernel32: 'b.dll', kernel23: 'c' } } as never))).toMatch(/library has unknown key 'kernel23'/);
});
