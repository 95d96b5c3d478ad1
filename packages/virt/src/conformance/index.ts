/**
 * The backend conformance suite: every backend runs it through a factory, and a new hypervisor
 * backend proves itself with it.
 *
 * ```ts
 * import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
 * defineIrqFdConformance({ name: 'my-backend', create: () => ({ partition, observer, settle, dispose }) });
 * ```
 */
import { VirtError } from '../errors';
import { checkFunction, checkObject, checkString } from '../validate';
import { type ConformanceCase, caseContext, conformanceCases } from './cases';
import type { ConformanceCaseResult, ConformanceFactory } from './types';

export * from './types';
export { apicObserver } from './observer';
export { ConformanceFailure, check, checkEqual, checkThrows } from './check';
export { conformanceCases };
export type { CaseContext, ConformanceCase } from './cases';

/** INVALID_ARGUMENT unless `factory` has a `name` string and a `create` function. */
function checkFactory(operation: string, factory: unknown): ConformanceFactory {
  const f = checkObject<Partial<Record<keyof ConformanceFactory, unknown>>>(operation, 'factory', factory);
  checkString(operation, 'factory.name', f.name);
  checkFunction(operation, 'factory.create', f.create);
  return factory as ConformanceFactory;
}

/** Runs one case on a fresh subject, always disposing it. INVALID_ARGUMENT for a malformed factory or case. */
export async function runConformanceCase(factory: ConformanceFactory, c: ConformanceCase): Promise<void> {
  checkFactory('runConformanceCase', factory);
  checkFunction('runConformanceCase', 'case.run', checkObject<Partial<ConformanceCase>>('runConformanceCase', 'case', c).run);
  const subject = await factory.create();
  try {
    const irqfd = subject.partition.irqfd();
    if (!irqfd) {
      throw new VirtError('UNSUPPORTED', {
        operation: 'conformance',
        detail: `${factory.name} has no irqfd`,
        hint: 'The irqfd suite needs a partition whose irqfd() returns an IrqFd.',
      });
    }
    await c.run(caseContext(subject, irqfd));
  } finally {
    subject.dispose();
  }
}

/** Runs every case (or those whose name includes `filter`); never throws for a failing case. */
export async function runIrqFdConformance(factory: ConformanceFactory, filter?: string): Promise<ConformanceCaseResult[]> {
  checkFactory('runIrqFdConformance', factory);
  if (filter !== undefined) checkString('runIrqFdConformance', 'filter', filter, true);
  const results: ConformanceCaseResult[] = [];
  for (const c of conformanceCases) {
    if (filter && !c.name.includes(filter)) continue;
    try {
      await runConformanceCase(factory, c);
      results.push({ name: c.name, passed: true });
    } catch (error) {
      results.push({ name: c.name, passed: false, error });
    }
  }
  return results;
}

interface TestApi {
  readonly describe: (name: string, fn: () => void) => void;
  readonly it: (name: string, fn: () => Promise<void>, timeout?: number) => void;
}

/**
 * Registers one test per case with the test runner's `describe`/`it` (jest, vitest, mocha:
 * globals by default, or pass them).
 */
export function defineIrqFdConformance(factory: ConformanceFactory, options: { api?: TestApi; timeoutMs?: number } = {}): void {
  checkFactory('defineIrqFdConformance', factory);
  const runnerGlobals: unknown = globalThis; // typed without any test runner's declarations
  const api = options.api ?? (runnerGlobals as Partial<TestApi>);
  if (typeof api.describe !== 'function' || typeof api.it !== 'function') {
    throw new Error('defineIrqFdConformance needs a test runner with describe/it (or pass options.api)');
  }
  const { describe, it } = api;
  describe(`irqfd conformance: ${factory.name}`, () => {
    for (const c of conformanceCases) it(c.name, () => runConformanceCase(factory, c), options.timeoutMs ?? 60_000);
  });
}
