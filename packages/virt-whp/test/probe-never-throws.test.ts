/**
 * `probe` returns a result with the reason whatever its options do: a `library` getter (or Proxy)
 * that throws, or a library that throws a value whose toString throws too, is `code: 'error'`, never a throw.
 */
import { defineHostileOptionsConformance, raise, trapsThrow, unprintable } from '@tsvmm/virt/conformance';
import { WhpPartition, probe } from '../src';

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
          throw unprintable();
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
          throw unprintable();
        },
      },
    );
    expect(probe({ library: library as never })).toMatchObject({ backend: 'whp', available: false, code: 'error' });
  });
});

defineHostileOptionsConformance({
  backend: 'whp',
  probe: (options) => probe(options as never),
  create: (options) => WhpPartition.create(options as never),
  createOperation: 'WhpPartition.create',
  cases: [
    ['a library getter that throws a trap-throwing Proxy', () => ({ vcpus: 2, get library(): never { return raise(trapsThrow()); } })],
    ['a library.whp getter that throws a trap-throwing Proxy', () => ({ vcpus: 2, library: { get whp(): never { return raise(trapsThrow()); }, kernel32: 'k' } })],
    ['a library that is a trap-throwing Proxy', () => ({ vcpus: 2, library: trapsThrow() })],
  ],
});
