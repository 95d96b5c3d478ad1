/**
 * Every wait of the delivery rounds is bounded: a delivery that never comes, a relay that never
 * settles, rounds that never end and a setup that stalls are each reported as a failed measurement
 * naming what was waited for, and the run exits 1; nothing hangs. The rounds run here on software
 * partitions, which deliver inside `signal()`, in place of KVM and the C floors.
 */
import { SoftwarePartition } from '@tsvmm/virt-software';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { memoryIo } from '../src/cli/io';
import { benchVerdict } from '../src/cli/bench-command';
import { createProgress } from '../src/bench/progress';
import type { BenchResult } from '../src/bench/result';
import type { SectionContext, SectionOutput } from '../src/bench/section';
import {
  DELIVERY_DEADLINE_MS,
  DELIVERY_LIMITS,
  type DeliveryRig,
  type DeliveryRigSource,
  type NodeProbe,
  SAMPLED,
  type SampledName,
  VECTOR,
  deliverySection,
  nodeDeliveryBatch,
} from '../src/bench/sections/delivery';
import { Stalled } from '../src/deadline';

type Batch = DeliveryRig['paths'][SampledName];

/** The hang bound of every test here: far beyond any deadline they exercise. */
const HANG_BOUND_MS = 30_000;

const STALLED_RUN = path.join(__dirname, 'support', 'stalled-bench-run.js');

const DELIVERY_METRICS = [...SAMPLED.slice(0, 5), 'delivery.relay_over_irqfd', 'delivery.overflow'];

/**
 * A software partition's route, signalled and polled as the bench does on KVM. `lost`: the route is
 * left masked, so every signal latches and none is ever delivered (an injector that never delivers).
 */
function softwareProbe(partitions: SoftwarePartition[], lost = false): NodeProbe {
  const p = SoftwarePartition.create({ vcpus: 2 });
  partitions.push(p);
  const route = p.irqfd()!.newIrqFdRoute();
  route.setMsi(0xfee00000 + p.readLocalApic(0).apicId * 0x1000, VECTOR);
  if (!lost) route.unmask();
  return { clear: () => p.clearIrr(0), signal: () => route.event.signal(), irrSet: () => p.readLocalApic(0).irr.includes(VECTOR), vcpu: 0 };
}

/** A rig of software paths: `lost` names the paths whose deliveries never come; `rig` overrides the rest. */
function softwareRig(lost: readonly SampledName[] = [], rig: Partial<DeliveryRig> = {}): DeliveryRigSource {
  return async (_ctx, measure) => {
    const partitions: SoftwarePartition[] = [];
    try {
      const paths = Object.fromEntries(
        SAMPLED.map((name) => {
          const probe = softwareProbe(partitions, lost.includes(name));
          return [name, ((n, spent) => nodeDeliveryBatch(probe, n, spent)) satisfies Batch];
        }),
      ) as unknown as DeliveryRig['paths'];
      return await measure({ paths, drains: [], verify: () => {}, where: 'vCPU 0, vector 0x41', harness: 'software partitions', ...rig });
    } finally {
      partitions.forEach((p) => p.dispose());
    }
  };
}

function context(): SectionContext & { readonly io: ReturnType<typeof memoryIo> } {
  const io = memoryIo();
  return { io, quick: true, progress: createProgress(io, 1, true), kvmUnavailable: undefined, kvm: undefined };
}

/** The section's metrics that failed, by name, with their reasons; every delivery metric must be among them. */
function failures(out: SectionOutput): Map<string, string> {
  return new Map(out.metrics.filter((m) => m.failed !== undefined).map((m) => [m.name, m.failed!]));
}

describe('the delivery rounds', () => {
  it('measure every path on working software partitions (the stub rounds work, so a failure below is the stall)', async () => {
    const out = await deliverySection(softwareRig()).run(context());
    expect(out.metrics.map((m) => m.name)).toEqual(DELIVERY_METRICS);
    for (const m of out.metrics) {
      expect(m).not.toHaveProperty('failed');
      expect(m).not.toHaveProperty('skipped');
      expect(m.value).toBeGreaterThan(0);
    }
  });

  it('report relays that never settle after the rounds as failed, naming what was waited for', async () => {
    const never = { waitedFor: 'the stub relay to settle after the rounds', settle: () => new Promise<void>(() => {}) };
    const out = await deliverySection(softwareRig([], { drains: [never] }), { ...DELIVERY_LIMITS, settleMs: 200 }).run(context());
    expect([...new Set(failures(out).values())]).toEqual(['gave up after 200 ms waiting for the stub relay to settle after the rounds']);
    expect(failures(out).size).toBe(DELIVERY_METRICS.length);
  }, HANG_BOUND_MS);

  it('stop rounds whose deliveries are all late (never lost) at the rounds budget, as failed', async () => {
    // Each delivery shows 20 ms after its signal: within the per-delivery deadline, but the quick
    // rounds would take 6 paths × (1 + 6 rounds) × 40 deliveries × 20 ms, over half a minute.
    const late = (probe: NodeProbe): NodeProbe => {
      let at = 0;
      return {
        ...probe,
        signal() {
          at = Date.now() + 20;
          probe.signal();
        },
        irrSet: () => Date.now() >= at && probe.irrSet(),
      };
    };
    const partitions: SoftwarePartition[] = [];
    const source: DeliveryRigSource = async (_ctx, measure) => {
      try {
        const probe = late(softwareProbe(partitions));
        const paths = Object.fromEntries(SAMPLED.map((n) => [n, ((k, spent) => nodeDeliveryBatch(probe, k, spent)) satisfies Batch]));
        return await measure({ paths: paths as unknown as DeliveryRig['paths'], drains: [], verify: () => {}, where: '', harness: '' });
      } finally {
        partitions.forEach((p) => p.dispose());
      }
    };
    const out = await deliverySection(source, { ...DELIVERY_LIMITS, roundsMs: { quick: 500, full: 500 } }).run(context());
    expect([...new Set(failures(out).values())]).toEqual([
      'gave up after 500 ms waiting for the warm-up and 6 interleaved rounds of 40 deliveries per path to finish (sampling delivery.irqfd)',
    ]);
  }, HANG_BOUND_MS);

  it('report a setup that stalls (a compiler past its deadline) as failed, not as skipped', async () => {
    const stalled: DeliveryRigSource = () => Promise.reject(new Stalled('`cc` to build tsvmm_bench.c', 30_000));
    const out = await deliverySection(stalled).run(context());
    expect([...new Set(failures(out).values())]).toEqual(['gave up after 30000 ms waiting for `cc` to build tsvmm_bench.c']);
    for (const m of out.metrics) expect(m).not.toHaveProperty('skipped');
  });

});

describe('a delivery that never comes', () => {
  let report: { result: BenchResult; table: string; verdict: ReturnType<typeof benchVerdict>; stderr: string };
  const reason = `gave up after ${DELIVERY_DEADLINE_MS} ms waiting for vector 0x41 in vCPU 0's IRR after the signal (sampling delivery.relay)`;

  beforeAll(() => {
    // In a child process: without its deadline the poll never returns, and only a child can be stopped.
    const run = spawnSync(process.execPath, [STALLED_RUN, 'delivery.relay'], { encoding: 'utf8', timeout: HANG_BOUND_MS });
    if (run.error) throw new Error(`the bench with a lost delivery did not finish within ${HANG_BOUND_MS} ms (${run.error.message}): it hangs`);
    if (run.status !== 0) throw new Error(`the bench with a lost delivery crashed (status ${run.status}): ${run.stderr}`);
    report = JSON.parse(run.stdout) as typeof report;
  }, HANG_BOUND_MS + 5_000);

  it('is reported as failed, naming the vector, the vCPU, the deadline and the path', () => {
    const delivery = report.result.metrics.filter((m) => m.name.startsWith('delivery.'));
    expect(delivery.map((m) => [m.name, m.value, m.failed])).toEqual(DELIVERY_METRICS.map((n) => [n, null, reason]));
    for (const m of delivery) expect(m).not.toHaveProperty('skipped');
    expect(report.stderr).toContain(`delivery: FAILED: ${reason}`);
  });

  it('does not stop the sections after it', () => {
    expect(report.result.metrics.find((m) => m.name === 'msix.table_write')!.value).toBeGreaterThan(0);
  });

  it('fails the run: FAILED in the table, exit 1 with the reason, with or without --strict', () => {
    expect(report.table).toMatch(/^delivery\.irqfd\s+FAILED\s/m);
    expect(report.table).toContain(`FAILED (${DELIVERY_METRICS.join(', ')}): ${reason}`);
    expect(report.table).toMatch(/^Targets: \d+ of \d+ met; 7 metrics failed, their targets not judged\.$/m);
    expect(report.verdict).toEqual({ exitCode: 1, lines: [`tsvmm bench: failed: ${reason}; no figures for ${DELIVERY_METRICS.join(', ')}.`] });
    expect(benchVerdict(report.result, true).lines[0]).toBe(report.verdict.lines[0]);
  });
});

describe('benchVerdict', () => {
  it('is 0 for a run with nothing failed, whatever was skipped, without --strict', () => {
    const result = {
      metrics: [{ name: 'a', unit: 'µs', value: null, baseline: null, ratio: null, description: '', skipped: 'no KVM' }],
    } as unknown as BenchResult;
    expect(benchVerdict(result, false)).toEqual({ exitCode: 0, lines: [] });
    expect(benchVerdict(result, true)).toEqual({ exitCode: 1, lines: ['tsvmm bench --strict: failed (not measured here: a).'] });
  });
});
