/**
 * Every exported function and constructor of @tsvmm/virt (root, /conformance, /testing, and the
 * general-purpose validators of /implement) validates its arguments: wrong types give a typed VirtError, or a documented non-throwing result; never a
 * TypeError or any other untyped error.
 */
import * as root from '../src';
import * as conformance from '../src/conformance';
import * as implement from '../src/implement';
import * as testing from '../src/testing';
import { OptionReads, settledOutcome } from '../src/testing';
import { isVirtError } from '../src';
import { RelayIrqFd, SlotAllocator, InProcessRelayPlatform } from '../src/implement';
import { testRelay } from './support/test-relay';

export const BAD: readonly unknown[] = [undefined, null, 42, 'x', {}, Number.NaN, -1, 2 ** 53, 10n, [], () => undefined];

/** Values no first parameter of a non-total export accepts (numbers such as 42 may be valid). */
const WRONG_FOR_ANY_PARAMETER: readonly unknown[] = BAD.filter((b) => b === null || typeof b === 'bigint' || (typeof b === 'number' && Number.isNaN(b)) || Array.isArray(b) || (typeof b === 'object' && b !== null && Object.keys(b).length === 0 && !Array.isArray(b)));

/**
 * Assertions: their documented job is to throw a ConformanceFailure or an Error (not a VirtError)
 * when the checked condition fails, e.g. virtErrorThrownBy given a call that returns. The suite's
 * are exercised by its self-tests, virtErrorThrownBy (wrong arguments included) by thrown-by.test.ts;
 * `raise` throws whatever it is given, and `trapsThrow` makes a value that throws when touched (awaited
 * included), by design (hostile-options.test.ts).
 */
const ASSERTIONS = new Set(['check', 'checkEqual', 'checkThrows', 'ConformanceFailure', 'virtErrorThrownBy', 'raise', 'trapsThrow']);

/** Exports documented to accept anything and return a result (never throw). */
const TOTAL = new Set([
  'isVirtError',
  'isVirtErrorCode',
  'describeValue',
  'describeMsi',
  'hex',
  'sameMsi',
  'hasLocalApicAccess',
  'hasIoApicAccess',
  'isArmed',
  'isEventFd',
  'isWin32Event',
  'isVirtErrorCode',
  'settleIrqFd', // async: a wrong argument is a rejected promise (checked in contract.test.ts)
  // Error factories and the error class itself: they build a VirtError from whatever they get.
  'VirtError',
  'invalidArgument',
  'disposedError',
  'routeEventDisposed',
  'exhaustedError',
  // Takes no arguments.
  'InProcessEvent',
  'OptionReads',
  'apicObserver', // returns an observer; its methods check the access object when called
  'conformanceCases',
  // The hostile values of the options suite: made from nothing, or wrapping whatever they are given.
  'unprintable',
  'callsThrow',
]);

const isClass = (f: unknown): boolean => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));

function outcome(call: () => unknown): 'returned' | 'typed' {
  try {
    const result = call();
    if (result instanceof Promise) result.catch(() => undefined);
  } catch (e) {
    if (!isVirtError(e)) throw new Error(`untyped error: ${String(e)}`);
    return 'typed';
  }
  return 'returned';
}

/** `names` of `mod`; a name that is not an exported function fails the file (a rename must not drop coverage). */
function pick(mod: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  for (const n of names) if (typeof mod[n] !== 'function') throw new Error(`${n} is not an exported function`);
  return Object.fromEntries(names.map((n) => [n, mod[n]]));
}

const surfaces: Array<[string, Record<string, unknown>]> = [
  ['@tsvmm/virt', root],
  ['@tsvmm/virt/conformance', conformance],
  ['@tsvmm/virt/testing', testing],
  // The general-purpose validators of /implement, and the helpers that left the root for it (its
  // other exports are backend parts).
  [
    '@tsvmm/virt/implement',
    pick(implement, [
      'checkBoolean',
      'checkFunction',
      'checkObject',
      'checkString',
      'hex',
      'isArmed',
      'isEventFd',
      'isWin32Event',
      'kindedEvent',
      'InProcessEvent',
      'InProcessRelayPlatform',
      'apicVectors',
      'readApicPage',
      'clearApicIrr',
      'softwareEnableApic',
      'checkMsiPolicy',
      'parseMsiWords',
      'checkInteger',
      'describeValue',
      'invalidArgument',
      'disposedError',
      'routeEventDisposed',
      'exhaustedError',
      'sameMsi',
      'SlotAllocator',
      'partitionCapabilities',
      'RelayIrqFd',
      'RelayRouteTable',
    ]),
  ],
];

const callables: Array<[string, string, (...a: unknown[]) => unknown]> = [];
for (const [surface, mod] of surfaces) {
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value !== 'function') continue;
    if (surface !== '@tsvmm/virt' && name in root) continue;
    if (name === 'defineIrqFdConformance' || name === 'defineHostileOptionsConformance') continue; // registers tests: checked below on its own
    if (ASSERTIONS.has(name)) continue;
    const f = value as (...a: unknown[]) => unknown;
    callables.push([surface, name, isClass(value) ? (...a): unknown => Reflect.construct(f, a) as unknown : f]);
  }
}

describe.each(callables)('%s %s', (_surface, name, call) => {
  it.each(BAD.map((b) => [b]))('with %p in every position: a typed error or a documented result', async (bad) => {
    for (const args of [[bad], [bad, bad], [bad, bad, bad, bad], ['op', bad, bad], ['op', 'name', bad, 0, 1]]) {
      const got = await settledOutcome(() => call(...args));
      // A function that is not documented total must refuse a wrong first argument.
      if (args.length === 1 && !TOTAL.has(name) && WRONG_FOR_ANY_PARAMETER.includes(bad)) expect([name, got]).toEqual([name, 'typed']);
    }
  });
});

test('the walk covers every exported function and class', () => {
  const names = callables.map(([, n]) => n);
  for (const expected of ['encodeMsi', 'decodeMsi', 'parseMsi', 'validateMsi', 'RelayIrqFd', 'RelayRouteTable', 'SlotAllocator', 'ApicBus', 'LocalApicModel', 'runIrqFdConformance', 'partitionCapabilities']) {
    expect(names).toContain(expected);
  }
});

test('defineIrqFdConformance with a wrong factory is a typed error, before registering anything', () => {
  const registered: string[] = [];
  const api = { describe: (n: string) => registered.push(n), it: (n: string) => registered.push(n) };
  for (const bad of BAD) expect(outcome(() => conformance.defineIrqFdConformance(bad as never, { api: api }))).toBe('typed');
  expect(registered).toEqual([]);
});

describe('methods of live objects', () => {
  const relay = () => testRelay();

  it.each(BAD.filter((b) => typeof b !== 'function').map((b) => [b]))('IrqFd.batch(%p) is INVALID_ARGUMENT with no side effect', (bad) => {
    const irqfd = relay();
    expect(() => irqfd.batch(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', operation: 'IrqFd.batch' }));
    expect(irqfd.routeCount).toBe(0);
    irqfd.dispose();
    // Validation comes first, even on a disposed irqfd: the argument is what is wrong.
    expect(() => irqfd.batch(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it.each(BAD.filter((b) => typeof b !== 'function').map((b) => [b]))('IrqFdRoute.onEventReplaced(%p) is INVALID_ARGUMENT', (bad) => {
    const irqfd = relay();
    const r = irqfd.newIrqFdRoute();
    expect(() => r.onEventReplaced(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    irqfd.dispose();
  });

  it.each(BAD.map((b) => [b]))('route.setMsi(%p, %p) and every route call are typed', (bad) => {
    const irqfd = relay();
    const r = irqfd.newIrqFdRoute();
    expect(outcome(() => r.setMsi(bad as never, bad as never))).toBe('typed');
    expect(r.msi).toBeUndefined();
    // data 42 is a valid vector; every other value is refused with a typed error
    expect(outcome(() => r.setMsi(0xfee00000, bad as never))).toBe(bad === 42 ? 'returned' : 'typed');
    irqfd.dispose();
  });

  it.each(BAD.map((b) => [b]))('SlotAllocator methods with %p', (bad) => {
    const a = new SlotAllocator(0, 4);
    expect(outcome(() => a.release(bad as never))).toBe('typed');
    expect(a.isAllocated(bad as never)).toBe(false);
    expect(outcome(() => a.allocate(bad as never, bad as never))).toBe('returned');
  });

  it('describeMsi never throws, even for a message whose getters throw', () => {
    const hostile = {
      get addressLo(): number {
        throw new Error('boom');
      },
    };
    expect(root.describeMsi(hostile as never)).toMatch(/not an MSI message/);
    for (const bad of BAD) expect(typeof root.describeMsi(bad as never)).toBe('string');
  });

  it('encodeMsi(undefined) and decodeMsi(undefined) are INVALID_ARGUMENT', () => {
    expect(() => root.encodeMsi(undefined as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', operation: 'encodeMsi' }));
    expect(() => root.decodeMsi(undefined as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => root.encodeMsi({ destinationId: 1, vector: 0x41, destinationMode: 'sideways' as never })).toThrow(/destinationMode/);
  });
});

test('RelayIrqFd reads each option exactly once (a getter that changes its answer cannot pass validation and then differ)', () => {
  const reads = new OptionReads();
  const options = reads.watch(
    { backend: 'test', maxRoutes: 4, policy: { addressHi: 'reject', backend: 'test' }, inject: () => true, platform: (t: never) => new InProcessRelayPlatform(t, () => true), reason: 'why' },
    { later: { backend: 42, maxRoutes: 1 << 30, policy: null, inject: 'x', platform: undefined, reason: {} } },
  );
  const irqfd = new RelayIrqFd(options as never);
  expect(reads.counts).toEqual({ backend: 1, maxRoutes: 1, policy: 1, inject: 1, platform: 1, reason: 1, levelRoutes: 1 });
  expect(irqfd.capabilities.maxRoutes).toBe(4);
  expect(irqfd.options.backend).toBe('test');
  irqfd.dispose();
});

test('createRelayPlatform: a VirtError from the factory propagates, any other throw is INTERNAL, a result that is not a RelayPlatform INVALID_ARGUMENT', () => {
  const table = new implement.RelayRouteTable(2);
  const good = implement.createRelayPlatform('test', (t) => new InProcessRelayPlatform(t, () => true), table);
  expect(good.platform).toBeInstanceOf(InProcessRelayPlatform);
  expect(good.name).toBe(good.platform.name);
  const typed = new root.VirtError('EXHAUSTED', { operation: 'factory', detail: 'no threads' });
  const outcomes = [
    () => {
      throw typed;
    },
    () => {
      throw new Error('boom');
    },
    () => undefined,
    () => ({ name: 'half', createEvent: () => undefined }),
  ].map((factory) => {
    try {
      implement.createRelayPlatform('test', factory as never, table);
      return 'returned';
    } catch (e) {
      return isVirtError(e) ? [e === typed ? 'the same error' : e.code, e.operation] : String(e);
    }
  });
  expect(outcomes).toEqual([
    ['the same error', 'factory'],
    ['INTERNAL', 'test'],
    ['INVALID_ARGUMENT', 'test'],
    ['INVALID_ARGUMENT', 'test'],
  ]);
});

test('defineHostileOptionsConformance with a wrong subject is a typed error, before registering anything', () => {
  const registered: string[] = [];
  const api = { describe: (n: string) => registered.push(n), it: (n: string) => registered.push(n) };
  const good = { backend: 'x', probe: () => undefined, create: () => undefined, createOperation: 'X.create', cases: [] };
  const wrong = [...BAD, { ...good, backend: 1 }, { ...good, probe: 'p' }, { ...good, create: undefined }, { ...good, cases: [['only a label']] }, { ...good, probeOnlyCases: {} }];
  for (const bad of wrong) expect(outcome(() => conformance.defineHostileOptionsConformance(bad as never, api as never))).toBe('typed');
  expect(registered).toEqual([]);
});
