import { createProgress } from '../src/bench/progress';
import { msixSection } from '../src/bench/sections/msix';
import { memoryIo } from '../src/cli/io';

// The msix section runs without KVM (on counting routes), so its plots are checked here whole:
// both are the batched variant against one commit per change, against the vector count.
it('the msix section plots Enable time and commits: batched and one commit per change, log scale, against the vector count', async () => {
  const out = await msixSection.run({ quick: true, progress: createProgress(memoryIo(), 3, false), kvmUnavailable: 'KVM is not available: no /dev/kvm here', kvm: undefined });
  const plots = new Map(out.scaling.map((p) => [p.id, p]));
  expect([...plots.keys()]).toEqual(['msix-enable', 'msix-enable-commits']);
  for (const [id, yName] of [['msix-enable', 'ms'], ['msix-enable-commits', 'commits']] as const) {
    const plot = plots.get(id)!;
    expect([plot.xName, plot.yName, plot.logY]).toEqual(['vectors', yName, true]);
    expect(plot.series.map((s) => s.name)).toEqual(['batched', 'one commit per change']);
    // Quick sizes 8, 128, 512, then the 2048 vectors of the timed rounds.
    for (const s of plot.series) expect(s.points.map(([n]) => n)).toEqual([8, 128, 512, 2048]);
  }
  // Enabling with N programmed vectors is one commit batched, N commits one per change.
  const commits = plots.get('msix-enable-commits')!.series.map((s) => s.points.map(([, y]) => y));
  expect(commits).toEqual([
    [1, 1, 1, 1],
    [8, 128, 512, 2048],
  ]);
});
