import { SoftwarePartition } from '@tsvmm/virt-software';
import { MsixEmulator, createIrqFdMsixRoutes, partitionInjector } from '../src';
import { runGuestScenario } from './support/guest-scenario';

describe('with the software backend (@tsvmm/virt-software)', () => {
  it('a Linux-style guest sequence delivers every vector to its vCPU, masks latch, unmask delivers once', async () => {
    using partition = SoftwarePartition.create({ vcpus: 2, apicIds: [0, 3] });
    await runGuestScenario({ partition, settle: () => Promise.resolve() });
    // The model counts accepted messages: nothing was delivered twice or coalesced.
    expect(partition.localApicModel(0).coalesced + partition.localApicModel(1).coalesced).toBe(0);
  });

  it('exactly one delivery per interrupt, counted by the APIC model', () => {
    using partition = SoftwarePartition.create({ vcpus: 1 });
    using routes = createIrqFdMsixRoutes(partition.irqfd()!, 1);
    const emu = new MsixEmulator({ vectors: 1, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 16 }, requestMsi: partitionInjector(partition) });
    emu.setRoutes(routes.routes, { batch: routes.batch });
    emu.write32(0, 0, 0xfee00000);
    emu.write32(0, 8, 0x45);
    emu.configWrite(3, 1, 0x80);
    const apic = partition.localApicModel(0);
    for (let round = 0; round < 5; round++) {
      routes.irqfdRoutes[0]!.event.signal();
      emu.signal(0);
      expect(emu.read64(0, 16)).toBe(1n);
      emu.write32(0, 12, 0);
      expect(apic.accepted).toBe(round + 1);
      emu.write32(0, 12, 1);
    }
  });
});
