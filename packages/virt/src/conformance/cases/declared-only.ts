/**
 * Capabilities the IrqFd contract has no API to exercise yet: registered so that a run says it did
 * not prove them, never counted as passed.
 */
import type { ConformanceCase } from './context';

export const declaredOnlyCases: readonly ConformanceCase[] = [
  {
    name: 'resample: level-triggered routes with a resample event',
    skipReason: (m) => (m.resample ? 'declared, but the IrqFd contract has no resample API for the suite to exercise' : 'not declared: supports.resample is false'),
    async run() {},
  },
];
