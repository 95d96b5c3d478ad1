/**
 * probe() never throws and create() throws only typed errors, whatever the options do: a getter
 * that throws a Proxy whose every trap throws, an options object that is such a Proxy, or a `sys`
 * whose calls throw a value that throws when converted to text.
 */
import { isVirtError } from '@tsvmm/virt';
import { KvmKernelModel } from '../src/testing';
import { KvmPartition, probe } from '../src';

/** A Proxy whose every trap throws: String(), isVirtError() and describeValue() of it all throw. */
const trapsThrow = new Proxy(
  {},
  {
    get(_t, key) {
      throw new Error(`get trap ${String(key)}`);
    },
    getPrototypeOf() {
      throw new Error('getPrototypeOf trap');
    },
    ownKeys() {
      throw new Error('ownKeys trap');
    },
  },
);
/** A plain object whose toString throws. */
const unprintable = {
  toString(): string {
    throw new Error('toString threw');
  },
};
/** Throws `value`, whatever it is (the point of these tests is values that are not Errors). */
const raise = (value: unknown): never => {
  throw value;
};
/** A `sys` every call of which throws `value`. */
const sysThrowing = (value: unknown): never => new Proxy({}, { get: () => () => { throw value; } }) as never;

const HOSTILE: ReadonlyArray<readonly [string, () => object]> = [
  ['a sys getter that throws a trap-throwing Proxy', () => ({ vcpus: 1, get sys(): never { return raise(trapsThrow); } })],
  ['a sys that is a trap-throwing Proxy', () => ({ vcpus: 1, sys: trapsThrow as never })],
  ['a device getter that throws an unprintable object', () => ({ vcpus: 1, get device(): never { return raise(unprintable); } })],
  ['options that are a trap-throwing Proxy', () => trapsThrow],
];

describe('KVM probe() never throws, whatever its options or sys throw', () => {
  it.each([
    ...HOSTILE,
    ['a sys whose calls throw a trap-throwing Proxy', () => ({ sys: sysThrowing(trapsThrow) })],
    ['a sys whose calls throw an object whose toString throws', () => ({ sys: sysThrowing(unprintable) })],
  ] as const)("%s: code 'error' with a reason", (_label, make) => {
    const p = probe(make());
    expect(p).toMatchObject({ backend: 'kvm', available: false, code: 'error' });
    expect(typeof p.reason).toBe('string');
    expect(p.reason.length).toBeGreaterThan(0);
  });

  it('a model still probes ok (the copy of the options is what create sees)', () => {
    expect(probe({ sys: new KvmKernelModel() })).toMatchObject({ backend: 'kvm', available: true, code: 'ok' });
  });
});

describe('KvmPartition.create reads hostile options into a typed error', () => {
  it.each(HOSTILE)('%s: INVALID_ARGUMENT naming the options', (_label, make) => {
    let thrown: unknown;
    try {
      KvmPartition.create(make() as never);
    } catch (e) {
      thrown = e;
    }
    expect(isVirtError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toContain('KvmPartition.create');
  });
});
