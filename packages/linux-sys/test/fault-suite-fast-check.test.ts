/**
 * fast-check is an optional peer dependency of the testing entry point: importing it must not load
 * fast-check, and only the random-sequence tests need it, failing with a typed error when it is missing.
 */
import { isVirtError } from '@tsvmm/virt';
import type * as TestingModule from '../src/testing';
import type * as SuiteModule from '../src/testing/irqfd-fault/suite';

function notFound(): Error {
  return Object.assign(new Error("Cannot find module 'fast-check' from 'suite.ts'"), { code: 'MODULE_NOT_FOUND' });
}

type Testing = typeof TestingModule;

/** Loads ../src/testing in a fresh module registry where fast-check cannot be found. */
function loadWithoutFastCheck(): Testing {
  let testing: Testing | undefined;
  jest.isolateModules(() => {
    jest.doMock('fast-check', () => {
      throw notFound();
    });
    testing = jest.requireActual<Testing>('../src/testing');
  });
  return testing!;
}

afterEach(() => jest.dontMock('fast-check'));

describe('the testing entry point without fast-check', () => {
  it('imports, and the random-sequence tests fail with UNAVAILABLE naming fast-check', () => {
    const testing = loadWithoutFastCheck();
    expect(typeof testing.irqFdRandomSequenceTests).toBe('function');
    // Collect the tests the suite registers instead of running them under this test.
    const registered: Array<() => void> = [];
    const g = globalThis as unknown as { it: unknown };
    const realIt = g.it;
    g.it = (_name: string, fn: () => void) => registered.push(fn);
    try {
      testing.irqFdRandomSequenceTests({} as Parameters<Testing['irqFdRandomSequenceTests']>[0]);
    } finally {
      g.it = realIt;
    }
    expect(registered).toHaveLength(2);
    for (const run of registered) {
      let thrown: unknown;
      try {
        run();
      } catch (e) {
        thrown = e;
      }
      expect(isVirtError(thrown, 'UNAVAILABLE')).toBe(true);
      expect((thrown as Error).message).toMatch(/fast-check/);
      expect((thrown as Error).message).toMatch(/npm install --save-dev fast-check/);
    }
  });
});

describe('loadFastCheck', () => {
  it('returns fast-check when it is installed', () => {
    const { loadFastCheck } = jest.requireActual<typeof SuiteModule>('../src/testing/irqfd-fault/suite');
    expect(typeof loadFastCheck().assert).toBe('function');
  });

  it('passes through a failure that is not fast-check missing (a broken install is not hidden)', () => {
    const { loadFastCheck } = jest.requireActual<typeof SuiteModule>('../src/testing/irqfd-fault/suite');
    const other = Object.assign(new Error("Cannot find module 'pure-rand'"), { code: 'MODULE_NOT_FOUND' });
    expect(() =>
      loadFastCheck(() => {
        throw other;
      }),
    ).toThrow(other);
  });
});
