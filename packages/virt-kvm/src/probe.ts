import type { BackendProbe } from '@tsvmm/virt';
import { isVirtError } from '@tsvmm/virt';
import { KvmPartition } from './partition';
import { KVM_DEVICE } from './device';

/**
 * Whether KVM works here and what a partition would offer, found by creating a 1-vCPU partition
 * and disposing it. Never throws.
 */
export function probe(): BackendProbe {
  if (process.platform !== 'linux') {
    return { backend: 'kvm', available: false, reason: `KVM needs Linux; this is ${process.platform}.` };
  }
  try {
    const p = KvmPartition.create({ vcpus: 1 });
    try {
      const c = p.capabilities;
      const how = c.irqfd === 'kernel' ? 'kernel irqfd' : c.irqfd === 'emulated' ? `the user-space relay (${c.irqfdReason})` : 'no irqfd';
      return { backend: 'kvm', available: true, reason: `${KVM_DEVICE} works (API version 12) with ${how}.`, capabilities: c };
    } finally {
      p.dispose();
    }
  } catch (e) {
    const reason = isVirtError(e) ? e.message : `unexpected failure: ${String(e)}`;
    return { backend: 'kvm', available: false, reason };
  }
}
