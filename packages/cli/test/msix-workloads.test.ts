import { SoftwarePartition } from '@tsvmm/virt-software';
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
});
