/**
 * The partition of the demo's x2APIC scene: 2 vCPUs in x2APIC mode at APIC IDs 0 and 256, so that
 * the second vCPU can be reached only through the destination-ID bits above 7 (the upper MSI
 * address, or the extended destination ID a Linux guest writes). On /dev/kvm where the host allows
 * it (KVM_CAP_X2APIC_API, KVM_CAP_MAX_VCPU_ID above 256); else a `KvmPartition` on the KVM model
 * (`@tsvmm/virt-kvm/testing`), which runs the same KVM backend code against a model of the kernel;
 * else, where the KVM packages do not load (not Linux x64), the software backend with `x2apic`.
 */
import type { Disposable, LocalApicAccess, Partition } from '@tsvmm/virt';
import { SoftwarePartition } from '@tsvmm/virt-software';
import type * as VirtKvmTesting from '@tsvmm/virt-kvm/testing';
import { kvmPackages } from '../bench/sections/kvm-access';
import { settleFor } from '../backends/settle';

/**
 * APIC IDs of the scene's vCPUs: 256 is the lowest ID an 8-bit destination cannot name (its bits
 * 7:0 are those of APIC ID 0, which is why vCPU 0 sits there).
 */
export const X2APIC_DEMO_APIC_IDS: readonly number[] = Object.freeze([0, 256]);

/** A 2-vCPU x2APIC partition at APIC IDs 0 and 256, and where it runs. */
export interface X2apicHost extends Disposable {
  /** The partition: vCPU 0 at APIC ID 0 and vCPU 1 at APIC ID 256, with an irqfd. */
  readonly partition: Partition & LocalApicAccess;
  /** `kvm` (real /dev/kvm), `model` (the KVM model) or `software` (the software backend). */
  readonly on: 'kvm' | 'model' | 'software';
  /** Why this host, for people: one sentence. */
  readonly why: string;
  /** Resolves once every signal raised so far on the partition's routes was delivered or latched. */
  settle(): Promise<void>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function host(partition: Partition & LocalApicAccess, on: X2apicHost['on'], why: string, extra: () => void = () => {}): X2apicHost {
  const settle = settleFor(partition);
  return {
    partition,
    on,
    why,
    settle,
    [Symbol.dispose]: () => {
      partition.dispose();
      extra();
    },
  };
}

/**
 * Real KVM when an x2APIC partition at APIC IDs 0 and 256 opens on /dev/kvm here, else the KVM
 * model, else (the KVM packages do not load) the software backend; `why` says which and why.
 * Throws only what creating the fallback partition throws (a typed VirtError: a defect, not a host
 * condition).
 */
export function openX2apicHost(): X2apicHost {
  const apicIds = [...X2APIC_DEMO_APIC_IDS];
  let virtKvm: ReturnType<typeof kvmPackages>['virtKvm'];
  try {
    virtKvm = kvmPackages().virtKvm;
  } catch (e) {
    const partition = SoftwarePartition.create({ vcpus: apicIds.length, apicIds, x2apic: true });
    return host(partition, 'software', `the KVM packages do not load here (${message(e)}); the software backend in x2APIC mode delivers`);
  }
  try {
    const partition = virtKvm.KvmPartition.create({ vcpus: apicIds.length, apicIds, x2apic: true });
    return host(partition, 'kvm', '/dev/kvm opened an x2APIC partition (KVM_CAP_X2APIC_API, 32-bit APIC IDs): KVM delivers by the destination in the upper MSI address');
  } catch (e) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing') as typeof VirtKvmTesting;
    const partition = virtKvm.KvmPartition.create({ vcpus: apicIds.length, apicIds, x2apic: true, sys: new KvmKernelModel({ apicIds }) });
    return host(partition, 'model', `real KVM is not usable here (${message(e)}); the KVM backend runs on the KVM model, which delivers as KVM does with 32-bit APIC IDs`);
  }
}
