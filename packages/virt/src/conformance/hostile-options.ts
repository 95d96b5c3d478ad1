/**
 * A backend's probe and partition factory under hostile options: a backend's `probe()` never
 * throws (the {@link BackendDescriptor} contract) and its `create()` throws only typed errors,
 * whatever its options do when read: a getter that throws a value that throws when looked at, an
 * options object that is a Proxy whose every trap throws, an injected seam (`sys`, `library`)
 * whose calls throw such values. One suite, run by every backend that takes options.
 */
import type { BackendProbe } from '../contract/probe';
import { isVirtError } from '../errors';
import { checkFunction, checkObject, checkString, describeError } from '../validate';
import { invalidArgument } from '../errors';
import { check, checkEqual } from './check';
import type { ConformanceTestApi } from './index';

/** A Proxy whose every trap throws: `String()` of it, a property read and `Object.prototype.toString` all throw. */
export function trapsThrow(): object {
  const trap = (what: string) => (): never => {
    throw new Error(`${what} trap`);
  };
  return new Proxy({}, { get: trap('get'), has: trap('has'), getPrototypeOf: trap('getPrototypeOf'), ownKeys: trap('ownKeys'), getOwnPropertyDescriptor: trap('getOwnPropertyDescriptor') });
}

/** An Error whose `toString` throws: `String()` of it throws. */
export function unprintable(): Error {
  return Object.assign(new Error('unprintable'), {
    toString(): string {
      throw new Error('toString threw');
    },
  });
}

/** Throws `value`, whatever it is (these cases are about thrown values that are not Errors). */
export function raise(value: unknown): never {
  throw value;
}

/** A seam (`sys`, `library`) every member of which is a function throwing `value` (but `then`: the seam is not a promise). */
export function callsThrow(value: unknown): object {
  return new Proxy({}, { get: (_target, key) => (key === 'then' ? undefined : () => raise(value)) });
}

/** What a backend's factory returns, as far as the suite needs it. */
export interface HostileOptionsPartition {
  /** Releases the partition. */
  dispose(): void;
}

/** One hostile options object, made fresh for each test. */
export type HostileOptionsCase = readonly [label: string, make: () => unknown];

/** What {@link defineHostileOptionsConformance} runs against. */
export interface HostileOptionsSubject {
  /** The backend's name, as its probe reports it (`backend`). */
  readonly backend: string;
  /** The backend's `probe(options)`. */
  readonly probe: (options: unknown) => BackendProbe;
  /** The backend's partition factory; a partition it returns (a failure of the suite) is disposed by the suite. */
  readonly create: (options: unknown) => HostileOptionsPartition;
  /** The factory's operation name, e.g. `KvmPartition.create`, which its INVALID_ARGUMENT names. */
  readonly createOperation: string;
  /** Options both must survive (the backend's own seams); options that are a trap-throwing Proxy are added. */
  readonly cases: readonly HostileOptionsCase[];
  /** Options only the probe is given (e.g. a `sys` whose calls throw, which `create` rightly lets through). */
  readonly probeOnlyCases?: readonly HostileOptionsCase[];
}

/**
 * Registers, under one `describe`, for each case: the probe returns `code: 'error'` with a reason
 * (never throws), and `create` throws INVALID_ARGUMENT naming `createOperation` (never another
 * throw, never a partition). `api` defaults to the running test runner's globals.
 */
export function defineHostileOptionsConformance(subject: HostileOptionsSubject, api?: ConformanceTestApi): void {
  const op = 'defineHostileOptionsConformance';
  const o = checkObject<Partial<HostileOptionsSubject>>(op, 'subject', subject);
  const backend = checkString(op, 'backend', o.backend);
  const probe = o.probe;
  const create = o.create;
  checkFunction(op, 'probe', probe);
  checkFunction(op, 'create', create);
  const createOperation = checkString(op, 'createOperation', o.createOperation);
  const cases = checkCases(op, 'cases', o.cases);
  const probeOnly = o.probeOnlyCases === undefined ? [] : checkCases(op, 'probeOnlyCases', o.probeOnlyCases);
  const runnerGlobals: unknown = globalThis;
  const { describe, it } = api ?? (runnerGlobals as ConformanceTestApi);
  if (typeof describe !== 'function' || typeof it !== 'function') throw new Error(`${op} needs a test runner with describe/it (or pass api)`);
  const both: HostileOptionsCase[] = [['options that are a trap-throwing Proxy', trapsThrow], ...cases];
  const checked: HostileOptionsSubject = { backend, probe: probe as HostileOptionsSubject['probe'], create: create as HostileOptionsSubject['create'], createOperation, cases };
  describe(`${checked.backend}: probe and create under hostile options`, () => {
    for (const [label, make] of [...both, ...probeOnly]) {
      it(`probe: ${label}: code 'error' with a reason`, async () => {
        let result: BackendProbe | undefined;
        try {
          result = checked.probe(make());
        } catch (e) {
          check(false, `probe threw ${describeError(e)}`);
        }
        check(result !== undefined, 'the probe returns a result');
        checkEqual({ backend: result.backend, available: result.available, code: result.code }, { backend: checked.backend, available: false, code: 'error' }, 'probe result');
        check(typeof result.reason === 'string' && result.reason.length > 0, 'the probe gives a reason');
      });
    }
    for (const [label, make] of both) {
      it(`create: ${label}: INVALID_ARGUMENT naming ${checked.createOperation}`, async () => {
        let thrown: unknown;
        try {
          checked.create(make()).dispose();
        } catch (e) {
          thrown = e;
        }
        check(isVirtError(thrown, 'INVALID_ARGUMENT'), `create threw ${describeError(thrown)}, not INVALID_ARGUMENT`);
        check(thrown.operation === checked.createOperation, `the error names ${thrown.operation}, not ${checked.createOperation}`);
      });
    }
  });
}

/** `value` as a list of [label, make] cases; INVALID_ARGUMENT otherwise. */
function checkCases(op: string, name: string, value: unknown): HostileOptionsCase[] {
  if (!Array.isArray(value)) throw invalidArgument(op, `${name} must be an array of [label, make] cases`);
  return value.map((c: unknown, i) => {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'function') throw invalidArgument(op, `${name}[${i}] must be [label, make]: a string and a function`);
    return [c[0], c[1] as () => unknown] as const;
  });
}
