import { isVirtError } from '../src';
import { OptionReads, thrownBy } from '../src/testing';

describe('OptionReads', () => {
  it('counts every read, of present and absent keys, each object under its prefix', () => {
    const reads = new OptionReads();
    const library: { whp: string; kernel32?: string } = reads.watch({ whp: 'a.dll' }, { prefix: 'library.' });
    const options: { vcpus: number; x2apic?: boolean; library: typeof library } = reads.watch({ vcpus: 2, library });
    expect([options.vcpus, options.x2apic, options.vcpus]).toEqual([2, undefined, 2]);
    const nested = options.library;
    expect([nested.whp, nested.kernel32]).toEqual(['a.dll', undefined]);
    expect(reads.counts).toEqual({ vcpus: 2, x2apic: 1, library: 1, 'library.whp': 1, 'library.kernel32': 1 });
  });

  it('a key of `later` answers its later value from the second read on; spread and Object.keys read through the counter', () => {
    const reads = new OptionReads();
    const options = reads.watch({ vcpus: 2, maxRoutes: 8 }, { later: { vcpus: 256 } });
    expect([options.vcpus, options.vcpus, options.vcpus, options.maxRoutes, options.maxRoutes]).toEqual([2, 256, 256, 8, 8]);
    expect(Object.keys(options)).toEqual(['vcpus', 'maxRoutes']);
    expect({ ...options }).toEqual({ vcpus: 256, maxRoutes: 8 });
    expect(reads.counts).toEqual({ vcpus: 4, maxRoutes: 3 });
  });

  it('watch of anything but an object is INVALID_ARGUMENT, nothing counted', () => {
    const reads = new OptionReads();
    for (const bad of [undefined, null, 42, 'vcpus']) {
      const e = thrownBy(() => reads.watch(bad as never));
      expect([bad, isVirtError(e) && e.code]).toEqual([bad, 'INVALID_ARGUMENT']);
    }
    expect(reads.counts).toEqual({});
  });
});
