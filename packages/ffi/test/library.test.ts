import { LibraryLoadError, type KoffiLike, loadLibrary } from '../src';

/** A fake koffi whose library exports exactly `exports` (by C name). */
function fakeKoffi(exports: readonly string[], loadFails = false): KoffiLike & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    load(path: string) {
      if (loadFails) throw new Error('not found');
      loaded.push(path);
      return {
        func(prototype: string) {
          const name = /([A-Za-z_]\w*)\s*\(/.exec(prototype)![1]!;
          if (!exports.includes(name)) throw new Error(`cannot find function '${name}'`);
          return () => name;
        },
      };
    },
  };
}

const REQUIRED = { create: 'int32_t WHvCreatePartition(void *out)', del: 'int32_t WHvDeletePartition(uint64_t p)' };
const OPTIONAL = {
  createTrigger: 'int32_t WHvCreateTrigger(uint64_t p, const void *params, void *trigger, void *event)',
  updateTrigger: 'int32_t WHvUpdateTriggerParameters(uint64_t p, const void *params, uint64_t t)',
};

test('resolves each optional export on its own and reports the missing ones', () => {
  const koffi = fakeKoffi(['WHvCreatePartition', 'WHvDeletePartition', 'WHvCreateTrigger']);
  const lib = loadLibrary({ path: 'x.dll', required: REQUIRED, optional: OPTIONAL, koffi });
  expect(lib.missing).toEqual(['updateTrigger']);
  expect(lib.has('createTrigger')).toBe(true);
  expect(lib.has('updateTrigger')).toBe(false);
  expect(lib.functions.updateTrigger).toBeUndefined();
  expect(lib.functions.createTrigger?.()).toBe('WHvCreateTrigger');
  expect(lib.functions.create()).toBe('WHvCreatePartition');
  expect(Object.isFrozen(lib.functions)).toBe(true);
});

test('no optional export at all is still a successful load', () => {
  const lib = loadLibrary({ path: 'x.dll', required: REQUIRED, optional: OPTIONAL, koffi: fakeKoffi(['WHvCreatePartition', 'WHvDeletePartition']) });
  expect(lib.missing).toEqual(['createTrigger', 'updateTrigger']);
});

test('a missing required export fails the load, naming every missing one', () => {
  let err: unknown;
  try {
    loadLibrary({ path: 'x.dll', required: REQUIRED, optional: OPTIONAL, koffi: fakeKoffi(['WHvCreateTrigger']) });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LibraryLoadError);
  expect((err as LibraryLoadError).missingRequired).toEqual(['create', 'del']);
  expect((err as Error).message).toContain('create, del');
});

test.each([
  ['no options', undefined],
  ['no path', { required: REQUIRED }],
  ['an empty path', { path: '', required: REQUIRED }],
  ['no required table', { path: 'x.dll' }],
  ['a prototype that is not a string', { path: 'x.dll', required: { WHvCreatePartition: 5 } }],
  ['an optional table that is not an object', { path: 'x.dll', required: REQUIRED, optional: 'WHvGone' }],
  ['an unknown option', { path: 'x.dll', required: REQUIRED, requried: REQUIRED }],
  ['a required table that is an array', { path: 'x.dll', required: ['int f(void)'] }],
  ['a koffi that is not a module', { path: 'x.dll', required: REQUIRED, koffi: 5 }],
  ['a koffi without load', { path: 'x.dll', required: REQUIRED, koffi: {} }],
])('malformed options (%s) are a TypeError before anything is loaded', (_label, options) => {
  let loads = 0;
  const koffi = fakeKoffi(['WHvCreatePartition', 'WHvDeletePartition']);
  const counting = { ...koffi, load: (path: string) => (loads++, koffi.load(path)) };
  expect(() => loadLibrary((options === undefined ? undefined : { koffi: counting, ...options }) as never)).toThrow(TypeError);
  expect(loads).toBe(0);
});

test('options are read once each, and a getter that throws is a TypeError with its error as the cause', () => {
  let pathReads = 0;
  const koffi = fakeKoffi(['WHvCreatePartition', 'WHvDeletePartition']);
  const lib = loadLibrary({
    get path() {
      pathReads++;
      return pathReads === 1 ? 'x.dll' : 'other.dll';
    },
    required: REQUIRED,
    koffi,
  });
  expect([pathReads, lib.path, koffi.loaded]).toEqual([1, 'x.dll', ['x.dll']]);
  const broke = new Error('getter broke');
  const hostile = new Proxy({ path: 'x.dll', required: REQUIRED, koffi }, {
    get() {
      throw broke;
    },
  });
  let err: unknown;
  try {
    loadLibrary(hostile as never);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TypeError);
  expect((err as Error).cause).toBe(broke);
  expect(koffi.loaded).toEqual(['x.dll']);
});

test('a library that cannot be loaded is a LibraryLoadError with the cause', () => {
  expect(() => loadLibrary({ path: 'nope.dll', required: REQUIRED, koffi: fakeKoffi([], true) })).toThrow(/cannot load nope.dll: not found/);
});

const onLinux = process.platform === 'linux' ? test : test.skip;
onLinux('with the real koffi: a present export works, an absent optional one is reported', () => {
  const lib = loadLibrary({
    path: 'libc.so.6',
    required: { getpid: 'int getpid(void)' },
    optional: { absent: 'int tsvmm_no_such_export_xyz(void)', abs: 'int abs(int x)' },
  });
  expect((lib.functions.getpid as () => number)()).toBe(process.pid);
  expect(lib.missing).toEqual(['absent']);
  expect((lib.functions.abs as (x: number) => number)(-5)).toBe(5);
});
