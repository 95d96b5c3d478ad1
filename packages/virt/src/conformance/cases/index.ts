/**
 * The irqfd conformance cases, by topic. Each one checks delivery (which vector landed on which
 * vCPU), not just that calls returned. A case gets a fresh subject and must leave nothing behind
 * but what the subject's dispose() releases.
 */
import { batchCases } from './batch';
import type { ConformanceCase } from './context';
import { deliveryCases } from './delivery';
import { eventReplacementCases } from './event-replacement';
import { inputsCases } from './inputs';
import { levelCases } from './level';
import { lifecycleCases } from './lifecycle';
import { manifestCases } from './manifest';
import { maskingCases } from './masking';
import { overflowCases } from './overflow';
import { shapeCases } from './shape';
import { x2apicCases } from './x2apic';

export { caseContext } from './context';
export type { CaseContext, ConformanceCase } from './context';

/** Every case, the manifest check first. */
export const conformanceCases: readonly ConformanceCase[] = Object.freeze([
  ...manifestCases,
  ...shapeCases,
  ...deliveryCases,
  ...maskingCases,
  ...batchCases,
  ...lifecycleCases,
  ...inputsCases,
  ...eventReplacementCases,
  ...x2apicCases,
  ...overflowCases,
  ...levelCases,
]);
