/**
 * Every backend the CLI knows, in order of preference for the demo: the kernel hypervisors first,
 * the software model last. Adding a backend is one line here. Backend packages are loaded on first
 * use, so that a host where one cannot load (koffi missing, wrong platform) still runs every
 * command that does not need it, and says why.
 */
import { VirtError } from '@tsvmm/virt';
import type { BackendDescriptor, BackendOpenOptions, CodedBackendProbe } from './descriptor';

/**
 * The backends the CLI knows, in order of preference: `kvm`, `mshv`, `whp`, `software`. Each
 * package is loaded on first use; one that cannot load probes as unavailable (`load-failed` or
 * `missing-export`) and its `open` throws UNAVAILABLE.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const BACKENDS: readonly BackendDescriptor[] = [
  fromPackage('kvm', '@tsvmm/virt-kvm', 'kvmBackend', () => require('@tsvmm/virt-kvm')),
  fromPackage('mshv', '@tsvmm/virt-mshv', 'mshvBackend', () => require('@tsvmm/virt-mshv')),
  fromPackage('whp', '@tsvmm/virt-whp', 'whpBackend', () => require('@tsvmm/virt-whp')),
  fromPackage('software', '@tsvmm/virt-software', 'softwareBackend', () => require('@tsvmm/virt-software')),
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Why a lazily loaded descriptor is missing: the probe's code and sentence. */
class LoadFailure {
  constructor(
    readonly code: 'load-failed' | 'missing-export',
    readonly reason: string,
    readonly cause?: unknown,
    readonly notInstalled = false,
  ) {}
}

/** True when `e` says that `pkg` itself (not a module it loads) is not installed. */
function isNotInstalled(e: unknown, pkg: string): boolean {
  return (e as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND' && e instanceof Error && e.message.startsWith(`Cannot find module '${pkg}'`);
}

/** A descriptor whose package is required on first use; `name` must be the descriptor's own. */
export function fromPackage(name: string, pkg: string, exportName: string, load: () => unknown): BackendDescriptor {
  let cached: BackendDescriptor | LoadFailure | undefined;
  const resolve = (): BackendDescriptor | LoadFailure => {
    if (cached) return cached;
    let mod: unknown;
    try {
      mod = load();
    } catch (e) {
      // The hypervisor backends are optional dependencies of the CLI: npm skips each one on a
      // platform its package does not support.
      if (isNotInstalled(e, pkg)) {
        return (cached = new LoadFailure('load-failed', `${pkg} is not installed: it is an optional dependency, which npm leaves out where the package does not support the platform (this host: ${process.platform} ${process.arch}).`, e, true));
      }
      return (cached = new LoadFailure('load-failed', `${pkg} could not be loaded: ${e instanceof Error ? e.message : String(e)}`, e));
    }
    const d = (mod as Record<string, unknown> | null)?.[exportName] as BackendDescriptor | undefined;
    if (typeof d?.probe !== 'function' || typeof d.open !== 'function' || d.name !== name) {
      return (cached = new LoadFailure('missing-export', `${pkg} does not export the backend descriptor ${exportName} for ${name}.`));
    }
    return (cached = d);
  };
  return {
    name,
    get relayMode() {
      const d = resolve();
      return d instanceof LoadFailure ? false : d.relayMode === true;
    },
    probe(): CodedBackendProbe {
      const d = resolve();
      if (d instanceof LoadFailure) return { backend: name, available: false, code: d.code, reason: d.reason };
      return guardedProbe(d);
    },
    open(options: BackendOpenOptions) {
      const d = resolve();
      if (d instanceof LoadFailure) {
        throw new VirtError('UNAVAILABLE', {
          operation: `load ${pkg}`,
          detail: d.reason,
          hint: d.notInstalled ? `Install ${pkg} beside tsvmm on a platform it supports.` : 'Run the install again (pnpm install) and build (pnpm build).',
          cause: d.cause,
        });
      }
      return d.open(options);
    },
  };
}

/** A probe that throws is reported as unavailable with code `error`, never as a crash. */
export function guardedProbe(d: BackendDescriptor): CodedBackendProbe {
  try {
    return d.probe();
  } catch (e) {
    return { backend: d.name, available: false, code: 'error', reason: `The probe itself failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The descriptor named `name` in `backends`. */
export function backendNamed(backends: readonly BackendDescriptor[], name: string): BackendDescriptor | undefined {
  return backends.find((b) => b.name === name);
}
