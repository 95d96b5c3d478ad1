/**
 * The backend conformance suite: every backend runs it through a factory, and a new hypervisor
 * backend proves itself with it.
 *
 * ```ts
 * import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
 * defineIrqFdConformance({
 *   name: 'my-backend',
 *   supports: { stableEvent: true, routingTable: true, mediation: 'kernel', resample: false, guestEoi: false, x2apic: false, overflow: false },
 *   create: () => ({ partition, observer, settle, dispose }),
 * });
 * ```
 *
 * A case that does not apply to the declared manifest is registered as skipped, with the reason
 * in its name, so a run prints what it did not prove.
 */
import type { IrqFd } from '../contract/irqfd';
import { VirtError, invalidArgument } from '../errors';
import { checkFunction, checkObject, checkString } from '../validate';
import { type ConformanceCase, caseContext, conformanceCases } from './cases';
import type { ConformanceCaseResult, ConformanceFactory, ConformanceManifest, ConformanceSubject } from './types';

export * from './types';
export { apicObserver } from './observer';
export { ConformanceFailure, check, checkEqual, checkThrows } from './check';
export { conformanceCases };
export type { CaseContext, ConformanceCase } from './cases';
export { callsThrow, defineHostileOptionsConformance, raise, trapsThrow, unprintable } from './hostile-options';
export type { HostileOptionsCase, HostileOptionsPartition, HostileOptionsSubject } from './hostile-options';

const MANIFEST_KEYS: ReadonlyArray<keyof ConformanceManifest> = ['stableEvent', 'routingTable', 'mediation', 'resample', 'guestEoi', 'x2apic', 'overflow'];
const ASSUMED: ConformanceManifest = Object.freeze({ stableEvent: true, routingTable: false, mediation: 'kernel', resample: false, guestEoi: false, x2apic: false, overflow: false });

/** A manifest with where each key came from. */
export interface ResolvedManifest {
  /** The manifest the cases run with (frozen): declared, else derived, else assumed, key by key. */
  readonly manifest: ConformanceManifest;
  /** Keys the factory declared in `supports`. */
  readonly declared: ReadonlyArray<keyof ConformanceManifest>;
  /** Keys taken from a live subject's capabilities. */
  readonly derived: ReadonlyArray<keyof ConformanceManifest>;
  /** Keys neither declared nor derived: the suite's assumption. */
  readonly assumed: ReadonlyArray<keyof ConformanceManifest>;
}

/** INVALID_ARGUMENT unless `factory` has a `name` string and a `create` function. */
function checkFactory(operation: string, factory: unknown): ConformanceFactory {
  const f = checkObject<Partial<Record<keyof ConformanceFactory, unknown>>>(operation, 'factory', factory);
  checkString(operation, 'factory.name', f.name);
  checkFunction(operation, 'factory.create', f.create);
  if (f.supports !== undefined) checkObject(operation, 'factory.supports', f.supports);
  return factory as ConformanceFactory;
}

function fromCapabilities(subject: ConformanceSubject): Partial<ConformanceManifest> {
  const irqfd = subject.partition.irqfd();
  const caps = subject.partition.capabilities;
  return {
    ...(irqfd ? { stableEvent: irqfd.capabilities.stableEvent, routingTable: irqfd.capabilities.routingTable, mediation: irqfd.capabilities.mediation } : {}),
    resample: caps.resample,
    guestEoi: typeof subject.eoi === 'function',
    x2apic: caps.x2apic,
  };
}

/** Declared keys, then keys derived from `live` capabilities (when given), then the assumption. */
function resolve(factory: ConformanceFactory, live: Partial<ConformanceManifest> | undefined): ResolvedManifest {
  const declaredValues = factory.supports ?? {};
  const declared = MANIFEST_KEYS.filter((k) => declaredValues[k] !== undefined);
  const derived = MANIFEST_KEYS.filter((k) => !declared.includes(k) && live?.[k] !== undefined);
  const assumed = MANIFEST_KEYS.filter((k) => !declared.includes(k) && !derived.includes(k));
  const manifest = { ...ASSUMED, ...Object.fromEntries(derived.map((k) => [k, live![k]])), ...Object.fromEntries(declared.map((k) => [k, declaredValues[k]])) };
  return Object.freeze({ manifest: Object.freeze(manifest), declared, derived, assumed });
}

/** The manifest a factory runs with; keys it did not declare come from one live subject's capabilities. */
export async function resolveManifest(factory: ConformanceFactory): Promise<ResolvedManifest> {
  checkFactory('resolveManifest', factory);
  if (MANIFEST_KEYS.every((k) => factory.supports?.[k] !== undefined)) return resolve(factory, undefined);
  const subject = await factory.create();
  try {
    return resolve(factory, fromCapabilities(subject));
  } finally {
    subject.dispose();
  }
}

/** As {@link resolveManifest}, synchronously: derives only when `create` returns a subject (not a promise). */
function resolveManifestNow(factory: ConformanceFactory): ResolvedManifest {
  if (MANIFEST_KEYS.every((k) => factory.supports?.[k] !== undefined)) return resolve(factory, undefined);
  const made = factory.create();
  if (made instanceof Promise) {
    void made.then((s) => s.dispose(), () => undefined);
    return resolve(factory, undefined);
  }
  try {
    return resolve(factory, fromCapabilities(made));
  } finally {
    made.dispose();
  }
}

/** One line naming what the manifest did not get declared (empty when everything was). */
export function describeManifest(r: ResolvedManifest): string {
  const o = checkObject<Partial<ResolvedManifest>>('describeManifest', 'resolved', r);
  if (typeof o.manifest !== 'object' || !Array.isArray(o.derived) || !Array.isArray(o.assumed)) {
    throw invalidArgument('describeManifest', 'resolved must come from resolveManifest');
  }
  const show = (keys: ReadonlyArray<keyof ConformanceManifest>) => keys.map((k) => `${k}=${String(r.manifest[k])}`).join(', ');
  const parts = [];
  if (r.derived.length) parts.push(`derived from capabilities, not declared: ${show(r.derived)}`);
  if (r.assumed.length) parts.push(`assumed, neither declared nor derived: ${show(r.assumed)}`);
  return parts.length ? ` (manifest ${parts.join('; ')})` : '';
}

/** Runs one case on a fresh subject, always disposing it. INVALID_ARGUMENT for a malformed factory or case. */
export async function runConformanceCase(factory: ConformanceFactory, c: ConformanceCase, resolved?: ResolvedManifest): Promise<void> {
  checkFactory('runConformanceCase', factory);
  checkFunction('runConformanceCase', 'case.run', checkObject<Partial<ConformanceCase>>('runConformanceCase', 'case', c).run);
  const r = resolved ?? resolve(factory, undefined);
  const subject = await factory.create();
  try {
    const irqfd: IrqFd | undefined = subject.partition.irqfd();
    if (!irqfd) {
      throw new VirtError('UNSUPPORTED', {
        operation: 'conformance',
        detail: `${factory.name} has no irqfd`,
        hint: 'The irqfd suite needs a partition whose irqfd() returns an IrqFd.',
      });
    }
    await c.run(caseContext(subject, irqfd, r.manifest, r.declared));
  } finally {
    subject.dispose();
  }
}

/**
 * Runs every case (or those whose name includes `filter`); never throws for a failing case. A case
 * that does not apply is reported `skipped` with its reason, and not `passed`.
 */
export async function runIrqFdConformance(factory: ConformanceFactory, filter?: string): Promise<ConformanceCaseResult[]> {
  checkFactory('runIrqFdConformance', factory);
  if (filter !== undefined) checkString('runIrqFdConformance', 'filter', filter, true);
  const resolved = await resolveManifest(factory);
  const results: ConformanceCaseResult[] = [];
  for (const c of conformanceCases) {
    if (filter && !c.name.includes(filter)) continue;
    const skipped = c.skipReason?.(resolved.manifest);
    if (skipped !== undefined) {
      results.push({ name: c.name, passed: false, skipped });
      continue;
    }
    try {
      await runConformanceCase(factory, c, resolved);
      results.push({ name: c.name, passed: true });
    } catch (error) {
      results.push({ name: c.name, passed: false, error });
    }
  }
  return results;
}

/** A test runner's `it` (jest, vitest, mocha): registers test `name` running `fn`, with an optional timeout in ms. */
export type ConformanceTestFn = (name: string, fn: () => Promise<void>, timeout?: number) => void;

/** The parts of a test runner {@link defineIrqFdConformance} registers the cases with. */
export interface ConformanceTestApi {
  /** The runner's `describe`: groups the cases under one name. */
  readonly describe: (name: string, fn: () => void) => void;
  /** The runner's `it`; its `skip`, when present, registers the cases that do not apply. */
  readonly it: ConformanceTestFn & {
    /** The runner's `it.skip`: registers a test that is reported skipped. */
    readonly skip?: ConformanceTestFn;
  };
}

/** Options of {@link defineIrqFdConformance}. */
export interface IrqFdConformanceOptions {
  /** The runner's `describe` and `it`; default: the globals of the running test runner. */
  api?: ConformanceTestApi;
  /** Timeout of each case in ms; default 60000. */
  timeoutMs?: number;
}

/**
 * Registers one test per case with the test runner's `describe`/`it` (jest, vitest, mocha:
 * globals by default, or pass them). Cases that do not apply are registered with `it.skip`, the
 * reason in their name; the describe name says which manifest keys were derived or assumed.
 * INVALID_ARGUMENT for a malformed factory; a plain Error when no `describe`/`it` is found.
 */
export function defineIrqFdConformance(factory: ConformanceFactory, options: IrqFdConformanceOptions = {}): void {
  checkFactory('defineIrqFdConformance', factory);
  const runnerGlobals: unknown = globalThis; // typed without any test runner's declarations
  const api = options.api ?? (runnerGlobals as Partial<ConformanceTestApi>);
  if (typeof api.describe !== 'function' || typeof api.it !== 'function') {
    throw new Error('defineIrqFdConformance needs a test runner with describe/it (or pass options.api)');
  }
  const { describe, it } = api;
  const resolved = resolveManifestNow(factory);
  describe(`irqfd conformance: ${factory.name}${describeManifest(resolved)}`, () => {
    for (const c of conformanceCases) {
      const skipped = c.skipReason?.(resolved.manifest);
      if (skipped === undefined) it(c.name, () => runConformanceCase(factory, c, resolved), options.timeoutMs ?? 60_000);
      else it.skip?.(`${c.name} [skipped: ${skipped}]`, async () => undefined);
    }
  });
}
