import { KvmPartition } from '@tsvmm/virt-kvm';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { itKvm, NO_KVM } from './support/run-cli';
import { type MsixEnableBenchResult, benchMsixEnable, benchMsixTableAccess } from '../src/bench/msix-workloads';
import { COUNTING_ROUTES_TIME, ENABLE_ROUNDS, measureEnableRounds } from '../src/bench/sections/msix';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import type { BenchResult } from '../src/bench/result';

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

describe('the MSI-X Enable rounds of the bench', () => {
  it('run each variant once unrecorded, then alternate which runs first round by round; only the rounds are recorded', () => {
    const calls: string[] = [];
    let n = 0;
    const run = (batched: boolean): MsixEnableBenchResult => {
      calls.push(batched ? 'B' : 'P');
      return { vectors: 8, batched, source: 'counting-routes', routingTable: true, commits: batched ? 1 : 8, enableMs: ++n };
    };
    const rounds: number[] = [];
    const r = measureEnableRounds(4, run, (k) => rounds.push(k));
    expect(calls.join(' ')).toBe('B P B P P B B P P B'); // warm-up, then AB BA AB BA
    expect(rounds).toEqual([1, 2, 3, 4]);
    // The warm-ups (the first two runs) are not among the results; each list holds its variant only.
    expect(r.batched.map((x) => x.enableMs)).toEqual([3, 6, 7, 10]);
    expect(r.perChange.map((x) => x.enableMs)).toEqual([4, 5, 8, 9]);
  });

  it('run an even number of rounds in quick and full runs, so each variant goes first equally often', () => {
    for (const rounds of [ENABLE_ROUNDS.quick, ENABLE_ROUNDS.full]) expect(rounds % 2 === 0 && rounds >= 2).toBe(true);
  });

  it('say on counting routes (no KVM) that the Enable time is the emulator\'s own work only', async () => {
    const io = memoryIo({ COLUMNS: '1000' });
    expect(await main(['bench', '--quick', '--only', 'msix', '--no-progress', '--json', '-'], io, NO_KVM)).toBe(0);
    const r = JSON.parse(io.stdout) as BenchResult;
    const enable = r.metrics.find((m) => m.name === 'msix.enable_2048')!;
    expect(enable.count).toBe(ENABLE_ROUNDS.quick);
    expect(enable.description).toContain(COUNTING_ROUTES_TIME);
    expect(r.notes.join('\n')).toContain(COUNTING_ROUTES_TIME);
  });
});
