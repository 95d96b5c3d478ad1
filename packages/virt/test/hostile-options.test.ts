/**
 * The hostile-options suite catches a backend that breaks its rule: a probe that throws, a probe that
 * answers something other than `code: 'error'`, a factory that returns a partition or throws untyped.
 * Its hostile values do what they say.
 */
import { VirtError } from '../src';
import { callsThrow, defineHostileOptionsConformance, raise, trapsThrow, unprintable } from '../src/conformance';

/** Registers the suite on `subject` with a recording runner; returns each test's outcome by name. */
async function run(subject: Parameters<typeof defineHostileOptionsConformance>[0]): Promise<Record<string, string>> {
  const tests: Array<[string, () => Promise<void>]> = [];
  defineHostileOptionsConformance(subject, { describe: (_n, fn) => fn(), it: (n, fn) => void tests.push([n, fn]) });
  const out: Record<string, string> = {};
  for (const [name, fn] of tests) out[name] = await fn().then(() => 'pass', (e: unknown) => (e instanceof Error ? e.name : 'thrown'));
  return out;
}

const errorProbe = { backend: 'toy', available: false, code: 'error' as const, reason: 'it broke' };
const refuse = (): never => {
  throw new VirtError('INVALID_ARGUMENT', { operation: 'Toy.create', detail: 'options could not be read' });
};
const base = { backend: 'toy', probe: () => errorProbe, create: refuse, createOperation: 'Toy.create', cases: [['a getter that throws', () => ({ get sys(): never { return raise(trapsThrow()); } })] as const] };

test('a backend that keeps the rules passes every case', async () => {
  const out = await run(base);
  expect(Object.keys(out)).toHaveLength(4);
  expect(Object.values(out)).toEqual(['pass', 'pass', 'pass', 'pass']);
});

test.each([
  ['a probe that throws', { probe: () => raise(new Error('probe broke')) }, /^probe: /],
  ['a probe that says ok', { probe: () => ({ ...errorProbe, available: true, code: 'ok' }) }, /^probe: /],
  ['a probe with no reason', { probe: () => ({ ...errorProbe, reason: '' }) }, /^probe: /],
  ['a factory that returns a partition', { create: () => ({ dispose: () => undefined }) }, /^create: /],
  ['a factory that throws untyped', { create: () => raise(trapsThrow()) }, /^create: /],
  ['a factory whose error names another operation', { create: () => raise(new VirtError('INVALID_ARGUMENT', { operation: 'Other.create', detail: 'x' })) }, /^create: /],
] as const)('%s fails the cases it breaks, and only those', async (_what, broken, failing) => {
  const out = await run({ ...base, ...broken } as never);
  for (const [name, result] of Object.entries(out)) expect([name, result]).toEqual([name, failing.test(name) ? 'ConformanceFailure' : 'pass']);
});

test('the hostile values throw as they say', () => {
  const p = trapsThrow();
  expect(() => Reflect.apply(String, undefined, [p])).toThrow();
  expect(() => Object.prototype.toString.call(p)).toThrow();
  expect(() => String(unprintable())).toThrow('toString threw');
  expect(() => raise('a string')).toThrow();
  const seam = callsThrow(42) as { anything: () => void };
  let thrown: unknown;
  try {
    seam.anything();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBe(42);
});
