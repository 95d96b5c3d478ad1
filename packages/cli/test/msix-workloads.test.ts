import { KvmPartition } from '@tsvmm/virt-kvm';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { itKvm } from './support/run-cli';
import { benchMsixEnable, benchMsixTableAccess } from '../src/bench/msix-workloads';

describe('MSI-X bench workloads', () => {
  it('measure table accesses and the DataView baseline alternately, returning raw samples', () => {
    const r = benchMsixTableAccess({ samples: 5, opsPerSample: 2000, vectors: 8 });
    for (const k of ['tableWriteNsPerOp', 'tableReadNsPerOp', 'dataViewWriteNsPerOp', 'dataViewReadNsPerOp', 'dataViewNsPerOp'] as const) {
      expect(r[k]).toHaveLength(5);
      expect(r[k].every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    }
  });

  it('enabling 2048 programmed vectors costs one commit batched, 2048 unbatched', () => {
    expect(benchMsixEnable()).toMatchObject({ vectors: 2048, commits: 1, batched: true, source: 'counting-routes' });
    expect(benchMsixEnable({ batched: false })).toMatchObject({ commits: 2048, batched: false });
  });

  it('programs a real irqfd (software relay: no routing table, so no commits at all)', () => {
    using p = SoftwarePartition.create({ vcpus: 2 });
    const r = benchMsixEnable({ irqfd: p.irqfd()!, vectors: 64 });
    expect(r).toMatchObject({ source: 'irqfd', routingTable: false, commits: 0, vectors: 64 });
    expect(p.irqfd()!.routeCount).toBe(0);
  });

  itKvm('on KVM, enabling 2048 programmed vectors is one KVM_SET_GSI_ROUTING commit (256 with one commit per change)', () => {
    using partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
    expect(benchMsixEnable({ irqfd: partition.irqfd()! })).toMatchObject({ source: 'irqfd', routingTable: true, commits: 1, vectors: 2048 });
    expect(benchMsixEnable({ irqfd: partition.irqfd()!, vectors: 256, batched: false }).commits).toBe(256);
  });
});
