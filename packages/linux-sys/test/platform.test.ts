import { readFileSync } from 'node:fs';
import { isVirtError } from '@tsvmm/virt';
import { checkLinuxHost, currentHost, libcFileName } from '../src';

const linux = (arch: string, libc: 'glibc' | 'musl') => ({ platform: 'linux', arch, libc });

test('glibc and musl hosts find their own C library', () => {
  expect(libcFileName(linux('x64', 'glibc'))).toBe('libc.so.6');
  expect(libcFileName(linux('x64', 'musl'))).toBe('libc.musl-x86_64.so.1');
});

test('every other platform and architecture is a typed UNSUPPORTED naming it, before any native call', () => {
  for (const host of [linux('arm64', 'glibc'), linux('ia32', 'musl'), { platform: 'darwin', arch: 'arm64', libc: 'glibc' as const }, { platform: 'win32', arch: 'x64', libc: 'glibc' as const }]) {
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
  expect(() => checkLinuxHost('t', linux('x64', 'musl'))).not.toThrow();
});

test('this host is described from the running process', () => {
  const h = currentHost();
  expect(h).toMatchObject({ platform: process.platform, arch: process.arch });
  if (process.platform !== 'linux') return;
  // The C library found is the one the process has mapped: the file the bindings then load.
  const maps = readFileSync('/proc/self/maps', 'utf8');
  expect(h.libc).toBe(/\/ld-musl-[^/\n]*$/m.test(maps) ? 'musl' : 'glibc');
  expect(libcFileName(h)).toBe(h.libc === 'musl' ? 'libc.musl-x86_64.so.1' : 'libc.so.6');
});
