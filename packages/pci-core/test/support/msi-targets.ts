/**
 * The partitions the plain MSI integration bodies run on: the software backend and the KVM model
 * always, the real /dev/kvm where it exists (elsewhere skipped loudly, or failing unless
 * TSVMM_ALLOW_NO_KVM=1). One body per behaviour, run once per target by {@link describeMsiTargets}.
 */
import { type LocalApicAccess, type Partition } from '@tsvmm/virt';
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';

export interface MsiTarget {
  readonly name: string;
  /** True on the real device: interrupts are seen only in the IRR, not counted. */
  readonly real: boolean;
  /** A 2-vCPU partition with irqfd. */
  create(): Partition & LocalApicAccess;
  /**
   * Interrupts the local APICs of `p` accepted so far, one per delivery even when it lands on an
   * IRR bit already set; undefined on a real device (the IRR cannot count).
   */
  accepted(p: Partition & LocalApicAccess): number | undefined;
  /** Resolves once every signal raised before the call has been delivered or latched. */
  settle(p: Partition & LocalApicAccess): Promise<void>;
}

const models = new WeakMap<object, KvmKernelModel>();

const software: MsiTarget = {
  name: 'software backend',
  real: false,
  create: () => SoftwarePartition.create({ vcpus: 2 }),
  accepted: (p) => {
    const s = p as SoftwarePartition;
    let n = 0;
    for (let c = 0; c < s.vcpuCount; c++) n += s.localApicModel(c).accepted;
    return n;
  },
  settle: () => Promise.resolve(),
};

const kvmModel: MsiTarget = {
  name: 'KVM model',
  real: false,
  create: () => {
    const model = new KvmKernelModel({ apicIds: [0, 1] });
    const p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel' });
    models.set(p, model);
    return p;
  },
  accepted: (p) => models.get(p)!.bus.apics.reduce((n, apic) => n + apic.accepted, 0),
  settle: () => Promise.resolve(),
};

const realKvm: MsiTarget = {
  name: 'real /dev/kvm',
  real: true,
  create: () => KvmPartition.create({ vcpus: 2, irqfd: 'kernel' }),
  accepted: () => undefined,
  settle: () => new Promise<void>((resolve) => setTimeout(resolve, 2)),
};

/** Runs `fn` once per target: software and the KVM model here, the real /dev/kvm where it exists. */
export function describeMsiTargets(name: string, fn: (target: MsiTarget) => void): void {
  for (const target of [software, kvmModel]) describe(`${name} (${target.name})`, () => fn(target));
  describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', `${name} (${realKvm.name})`, () => fn(realKvm));
}
