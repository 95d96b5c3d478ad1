/** Unknown option keys, at the top and in `library`, are refused before anything is loaded. */
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { WhpPartition } from '../src';

const message = (fn: () => unknown): string => virtErrorThrownBy(fn, 'INVALID_ARGUMENT').message;

it('WhpPartition.create: misspelt keys are INVALID_ARGUMENT naming them', () => {
  expect(message(() => WhpPartition.create({ vcpus: 2, maxRoute: 8 } as never))).toMatch(/unknown key 'maxRoute'/);
  expect(message(() => WhpPartition.create({ vcpus: 2, library: { whp: 'a.dll', kernel32: 'b.dll', kernel23: 'c' } } as never))).toMatch(/library has unknown key 'kernel23'/);
});
