/**
 * The per-vector queries of both emulators (a diagnostic API for the VMM, not a guest path) refuse
 * a vector that does not exist with INVALID_ARGUMENT naming the method and the range, and answer
 * for every vector that does.
 */
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { MsiEmulator, MsixEmulator } from '../src';

const VECTORS = 4;

const EMULATORS = [
  {
    name: 'MsixEmulator',
    make: () => new MsixEmulator({ vectors: VECTORS, table: { bir: 2, offset: 0x100 }, pba: { bir: 2, offset: 0x40 } }),
    queries: ['entry', 'isMasked', 'isDelivering', 'isPendingHeld'],
  },
  {
    name: 'MsiEmulator',
    make: () => new MsiEmulator({ vectors: VECTORS, address64: true, perVectorMasking: true }),
    queries: ['message', 'isMasked', 'isDelivering', 'isPendingHeld'],
  },
] as const;

const CASES = EMULATORS.flatMap(({ name, make, queries }) => queries.map((query) => [`${name}.${query}`, make, query] as const));

describe.each(CASES)('%s', (operation, make, query) => {
  const ask = (vector: unknown): unknown => (make() as unknown as Record<string, (v: unknown) => unknown>)[query]!(vector);

  it.each([-1, VECTORS, 1.5, Number.NaN, '0', undefined])('refuses vector %p: INVALID_ARGUMENT naming the range', (vector) => {
    const e = thrownBy(() => ask(vector));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(e).toMatchObject({ operation, detail: expect.stringMatching(new RegExp(`^vector must be an integer from 0 to ${VECTORS - 1}, got `)) });
  });

  it('refuses a vector that is a Proxy whose every trap throws: still INVALID_ARGUMENT, nothing thrown from the Proxy', () => {
    const trapsThrow = new Proxy(
      {},
      {
        get() {
          throw new Error('get trap');
        },
        getPrototypeOf() {
          throw new Error('getPrototypeOf trap');
        },
      },
    );
    expect(isVirtError(thrownBy(() => ask(trapsThrow)), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('answers for the first and the last vector', () => {
    expect(ask(0)).toBeDefined();
    expect(ask(VECTORS - 1)).toBeDefined();
  });
});
