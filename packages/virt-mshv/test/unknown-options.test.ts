/** Unknown option keys are refused before any system call. */
import { isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvPartition } from '../src';
import { MshvKernelModel } from '../src/testing';

it("MshvPartition.create: a misspelt key ('maxKernelRoute') is INVALID_ARGUMENT naming it, before any system call", () => {
  const model = new MshvKernelModel();
  const sys = new FaultInjector(model);
  let e: unknown;
  try {
    MshvPartition.create({ vcpus: 2, sys, memory: model, maxKernelRoute: 4 } as never);
  } catch (err) {
    e = err;
  }
  expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
  expect((e as Error).message).toMatch(/unknown key 'maxKernelRoute'/);
  expect(sys.log).toEqual([]);
});
