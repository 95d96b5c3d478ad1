import { isVirtError } from '@tsvmm/virt';
import { checkLinuxHost, currentHost, libcFileName } from '../src';

const linux = (arch: string, glibc: string | undefined) => ({ platform: 'linux', arch, glibcVersionRuntime: glibc });

test('glibc and musl hosts find their own C library', () => {
  expect(libcFileName(linux('x64', '2.36'))).toBe('libc.so.6');
  expect(libcFileName(linux('x64', undefined))).toBe('libc.musl-x86_64.so.1');
});

test('every other platform and architecture is a typed UNSUPPORTED naming it, before any native call', () => {
  for (const host of [linux('arm64', '2.36'), linux('ia32', undefined), { platform: 'darwin', arch: 'arm64', glibcVersionRuntime: undefined }, { platform: 'win32', arch: 'x64', glibcVersionRuntime: undefined }]) {
    let error: unknown;
    try {
      libcFileName(host);
    } catch (e) {
      error = e;
    }
    expect(isVirtError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'UNSUPPORTED' });
    expect((error as Error).message).toContain(`${host.platform} on ${host.arch}`);
  }
  expect(() => checkLinuxHost('t', linux('x64', undefined))).not.toThrow();
});

test('this host is described from the running process', () => {
  const h = currentHost();
  expect(h).toMatchObject({ platform: process.platform, arch: process.arch });
  // This machine runs glibc: the lookup it makes is the one the bindings load.
  if (process.platform === 'linux') expect(libcFileName(h)).toBe(h.glibcVersionRuntime === undefined ? 'libc.musl-x86_64.so.1' : 'libc.so.6');
});
