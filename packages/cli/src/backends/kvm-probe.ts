import type { BackendProbe } from '@tsvmm/virt';
import { loadKvm } from './load';

/** How the commands learn whether KVM is usable: the real probe, or a test's stand-in. */
export type KvmProber = () => BackendProbe;

/** `@tsvmm/virt-kvm`'s probe(); a package that cannot load is reported as unavailable, with why. */
export const realKvmProbe: KvmProber = () => {
  try {
    return loadKvm().probe();
  } catch (e) {
    return { backend: 'kvm', available: false, reason: e instanceof Error ? e.message : String(e) };
  }
};
