/**
 * On the real /dev/kvm through @tsvmm/virt-kvm: the guest-style scenario with kernel irqfd routes,
 * observed in each vCPU's local APIC (KVM_GET_LAPIC). Without /dev/kvm this fails, unless
 * TSVMM_ALLOW_NO_KVM=1, which skips it with a warning naming /dev/kvm.
 */
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { runGuestScenario } from './support/guest-scenario';

function describeKvm(name: string, fn: () => void): void {
  describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', name, fn);
}

/** Lets kernel work and the event loop run; the scenario then polls the APIC for what it expects. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 2));

describeKvm('on the real /dev/kvm (@tsvmm/virt-kvm)', () => {
  it('kernel irqfd: every vector lands on its vCPU, a masked one latches in the PBA and is delivered once at unmask', async () => {
    using partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
    expect(partition.irqfd()!.capabilities.mediation).toBe('kernel');
    await runGuestScenario({ partition, settle });
    expect(partition.irqfd()!.routeCount).toBe(0);
  });

  it('the user-space relay on KVM behaves the same', async () => {
    using partition = KvmPartition.create({ vcpus: 2, irqfd: 'relay' });
    const irqfd = partition.irqfd() as unknown as { settle?: () => Promise<void> };
    await runGuestScenario({ partition, settle: async () => (irqfd.settle ? irqfd.settle() : settle()) });
  });
});
