/**
 * Backend packages are loaded on first use, so that a host where one cannot load (koffi missing,
 * not Linux) still runs every command that does not need it, and says why.
 */
import type * as KvmModule from '@tsvmm/virt-kvm';
import type * as SoftwareModule from '@tsvmm/virt-software';
import { VirtError } from '@tsvmm/virt';

function load<T>(pkg: string, req: () => T): T {
  try {
    return req();
  } catch (e) {
    if (e instanceof VirtError) throw e;
    throw new VirtError('UNAVAILABLE', {
      operation: `load ${pkg}`,
      detail: `the package could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'Run the install again (pnpm install) and build (pnpm build).',
      cause: e,
    });
  }
}

/* eslint-disable @typescript-eslint/no-require-imports */
export function loadKvm(): typeof KvmModule {
  return load('@tsvmm/virt-kvm', () => require('@tsvmm/virt-kvm') as typeof KvmModule);
}

export function loadSoftware(): typeof SoftwareModule {
  return load('@tsvmm/virt-software', () => require('@tsvmm/virt-software') as typeof SoftwareModule);
}
/* eslint-enable @typescript-eslint/no-require-imports */
