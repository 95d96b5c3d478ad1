/**
 * The overflow relay on the mshv model without `relayPlatform`: the model has no epoll for the
 * default worker thread, and the typed error says which platform to pass. Model-only: a real
 * /dev/mshv host has epoll, and there the default relay starts its worker.
 */
import { encodeMsi, isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { MshvPartition } from '../src';
import { MshvKernelModel, modelRelayPlatform } from '../src/testing';

const A = encodeMsi({ destinationId: 1, vector: 0x41 });

describe('the overflow relay on the mshv model without relayPlatform', () => {
  it('is SYSCALL ENOSYS with a hint to pass modelRelayPlatform(model); the route keeps its MSI, masked, and the platform then works', () => {
    const model = new MshvKernelModel();
    {
      using p = MshvPartition.create({ vcpus: 2, sys: model, memory: model, maxKernelRoutes: 1 });
      const irqfd = p.irqfd()!;
      const first = irqfd.newIrqFdRoute();
      first.setMsi(A.addressLo, A.data);
      const r = irqfd.newIrqFdRoute();
      r.setMsi(A.addressLo, A.data);
      const e = thrownBy(() => r.unmask());
      expect(isVirtError(e) && [e.code, e.errnoName]).toEqual(['SYSCALL', 'ENOSYS']);
      expect(isVirtError(e) && e.hint).toContain('relayPlatform: modelRelayPlatform(model) (from @tsvmm/virt-mshv/testing)');
      expect([r.masked, r.msi?.data]).toEqual([true, A.data]);
    }
    using p = MshvPartition.create({ vcpus: 2, sys: model, memory: model, maxKernelRoutes: 1, relayPlatform: modelRelayPlatform(model) });
    const irqfd = p.irqfd()!;
    const routes = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
    for (const r of routes) {
      r.setMsi(A.addressLo, A.data);
      r.unmask();
    }
    expect(routes.map((r) => r.mediation)).toEqual(['kernel', 'emulated']);
  });
});
