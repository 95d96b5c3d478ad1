/**
 * `probe` returns a result with the reason whatever its options do: a `library` getter (or Proxy)
 * that throws, or a library that throws a value whose toString throws too, is `code: 'error'`, never a throw.
 */
import { isVirtError } from '@tsvmm/virt';
import { WhpPartition, probe } from '../src';

/** An Error whose toString throws: String() of it throws. */
const unprintable = Object.assign(new Error('unprintable'), {
  toString(): string {
    throw new Error('no text');
  },
});

describe('probe never throws, whatever its options do', () => {
  it("a library getter that throws: code 'error', the reason naming options.library", () => {
    const options = {
      get library(): never {
        throw new Error('getter broke');
      },
    };
    const p = probe(options);
    expect(p).toMatchObject({ backend: 'whp', available: false, code: 'error' });
    expect(p.reason).toContain('options.library could not be read: Error: getter broke');
  });

  it("a Proxy whose every get throws an unprintable value: code 'error'", () => {
    const options = new Proxy(
      {},
      {
        get() {
          throw unprintable;
        },
      },
    );
    expect(probe(options)).toMatchObject({ backend: 'whp', available: false, code: 'error', reason: expect.stringContaining('options.library could not be read') });
  });

  it("a library whose every member throws an unprintable value: code 'error'", () => {
    const library = new Proxy(
      {},
      {
        get() {
          throw unprintable;
        },
      },
    );
    expect(probe({ library: library as never })).toMatchObject({ backend: 'whp', available: false, code: 'error' });
  });
});

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

/** Throws `value`, whatever it is (the point of these tests is values that are not Errors). */
const raise = (value: unknown): never => {
  throw value;
};

const HOSTILE: ReadonlyArray<readonly [string, () => object]> = [
  ['a library getter that throws a trap-throwing Proxy', () => ({ vcpus: 2, get library(): never { return raise(trapsThrow); } })],
  ['a library.whp getter that throws a trap-throwing Proxy', () => ({ vcpus: 2, library: { get whp(): never { return raise(trapsThrow); }, kernel32: 'k' } })],
  ['a library that is a trap-throwing Proxy', () => ({ vcpus: 2, library: trapsThrow })],
  ['options that are a trap-throwing Proxy', () => trapsThrow],
];

describe('values that throw when looked at', () => {
  it.each(HOSTILE)("probe: %s gives code 'error' with a reason", (_label, make) => {
    const p = probe(make());
    expect(p).toMatchObject({ backend: 'whp', available: false, code: 'error' });
    expect(typeof p.reason).toBe('string');
  });

  it.each(HOSTILE)('WhpPartition.create: %s is INVALID_ARGUMENT', (_label, make) => {
    let thrown: unknown;
    try {
      WhpPartition.create(make() as never);
    } catch (e) {
      thrown = e;
    }
    expect(isVirtError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toContain('WhpPartition.create');
  });
});
