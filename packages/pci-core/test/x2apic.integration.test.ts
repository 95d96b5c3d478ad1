/**
 * MSI-X vectors a guest programs for APIC IDs above 255 (upper address or extended destination ID)
 * reach the route meaning the same vCPU, and retargeting while unmasked loses nothing: on the
 * software backend, on the KVM model, and on the real /dev/kvm where it exists.
 */
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { MsixEmulator, createIrqFdMsixRoutes, partitionInjector } from '../src';
import { extendedDestinationLo, runX2apicScenario } from './support/x2apic-scenario';

const IDS = [0, 1, 256, 1000];

describe('x2APIC destinations through MSI-X', () => {
  it('on the software backend', async () => {
    using partition = SoftwarePartition.create({ vcpus: IDS.length, apicIds: IDS, x2apic: true });
    await runX2apicScenario({ partition, settle: () => Promise.resolve() });
    expect(IDS.map((_, c) => partition.localApicModel(c).coalesced)).toEqual(IDS.map(() => 0));
  });

  it('on the KVM model (kernel irqfd)', async () => {
    using partition = KvmPartition.create({ vcpus: IDS.length, apicIds: IDS, x2apic: true, irqfd: 'kernel', sys: new KvmKernelModel({ apicIds: IDS }) });
    await runX2apicScenario({ partition, settle: () => partition.irqfd()!.settle() });
  });

  it('a guest writing an extended destination ID where the partition offers no x2APIC: a typed error to onError, nothing delivered, the VMM unharmed', () => {
    using partition = SoftwarePartition.create({ vcpus: 2 });
    using routes = createIrqFdMsixRoutes(partition.irqfd()!, 1);
    const errors: Array<{ code?: string }> = [];
    const emu = new MsixEmulator({ vectors: 1, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 16 }, requestMsi: partitionInjector(partition), onError: (e) => errors.push(e as { code?: string }) });
    emu.setRoutes(routes.routes, { batch: routes.batch });
    emu.write32(0, 0, extendedDestinationLo(0x100));
    emu.write32(0, 8, 0x45);
    emu.configWrite(3, 1, 0x80);
    emu.write32(0, 12, 0);
    routes.irqfdRoutes[0]!.event.signal();
    expect(emu.signal(0)).toBe(false);
    expect(errors.map((e) => e.code)).toContain('INVALID_MSI');
    expect([partition.readLocalApic(0).irr, partition.readLocalApic(1).irr]).toEqual([[], []]);
  });
});

describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', 'x2APIC destinations through MSI-X on the real /dev/kvm', () => {
  it('kernel irqfd, APIC IDs the host allows among 0, 1, 256, 1000', async () => {
    const ids = (() => {
      using probe = KvmPartition.create({ vcpus: 1 });
      return IDS.filter((id) => id < probe.extensions.maxVcpuId);
    })();
    using partition = KvmPartition.create({ vcpus: ids.length, apicIds: ids, x2apic: true, irqfd: 'kernel' });
    await runX2apicScenario({ partition, settle: () => partition.irqfd()!.settle() });
  });
});
