/**
 * A file read completing into the guest, on KVM: the kernel as the producer of an interrupt.
 * - `completion.aio_to_irr`: Node submits a 512-byte Linux AIO read of a regular file (io_submit)
 *   whose completion eventfd is a kernel irqfd route's event, then polls KVM_GET_LAPIC until the
 *   route's vector shows: the kernel reads the (page-cached) file, signals the eventfd from
 *   `aio_complete`, and KVM's irqfd injects. No write(2) to the eventfd from user space.
 * - `completion.write_to_irr`: the same route's eventfd written from Node (`route.event.signal()`),
 *   polled the same way: the baseline, measured in the same rounds (interleaved).
 * The ratio is the cost of having the kernel complete a read on the way, against a bare signal.
 */
import type * as LinuxSys from '@tsvmm/linux-sys';
import { type IrqFdRoute, type LocalApicAccess, type Partition, isVirtError } from '@tsvmm/virt';
import { Stalled, budget } from '../../deadline';
import { type TempFile, TempUnavailable, makeTempFile } from '../../output/temp';
import { withRatio } from '../result';
import { type BenchSection, MeasurementFailed, type SectionContext, type SectionOutput, type Unavailable, emptyOutput, oneStepSection } from '../section';

import { distribution, interleave, summarize } from '../stats';
import { DELIVERY_DEADLINE_MS, type NodeProbe, VECTOR, nodeDeliveryBatch } from './delivery';
import { kvmPackages, openKvmBench } from './kvm-access';

/** Bytes each measured read asks for. */
export const READ_BYTES = 512;

const NAMES = ['completion.aio_to_irr', 'completion.write_to_irr'] as const;
const DESCRIPTIONS: Record<(typeof NAMES)[number], string> = {
  'completion.aio_to_irr': `a ${READ_BYTES}-byte file read (Linux AIO) completes → IRR: its completion eventfd is a kernel irqfd route's event; submitted and polled from Node`,
  'completion.write_to_irr': 'the same route signalled from user space (route.event.signal()) → IRR, polled from Node: the baseline',
};

/** What the completion rounds run on: a partition, one route on vCPU `vcpu` at {@link VECTOR}, and the eventfd the kernel signals for it. */
export interface CompletionRig {
  readonly partition: Partition & LocalApicAccess;
  readonly route: IrqFdRoute;
  /** The eventfd the read's completion is signalled on: the route's (or, on a model, the real one beside it). */
  readonly completionFd: number;
  /** One poll of the vector in vCPU `vcpu`'s IRR. */
  readonly irrSet: () => boolean;
  readonly vcpu: number;
  /** The AIO context class of `@tsvmm/linux-sys`. */
  readonly AioContext: typeof LinuxSys.AioContext;
  /** Where the samples were taken, for the note. */
  readonly where: string;
}


/** Opens a rig, hands it to `measure`, releases it after; or says why there is none here. */
export type CompletionRigSource = (ctx: SectionContext, measure: (rig: CompletionRig) => SectionOutput) => Promise<SectionOutput | Unavailable>;

/** The rig on KVM: a 2-vCPU partition with kernel irqfd, one route to vCPU 0. */
export const kvmCompletionRig: CompletionRigSource = (ctx, measure) => {
  if (ctx.kvmUnavailable) return Promise.resolve({ unavailable: ctx.kvmUnavailable });
  const { sys } = kvmPackages();
  using kvm = openKvmBench(ctx.kvm, 'kernel', { sys: ctx.sys });
  const vcpu = 0;
  const apicId = kvm.partition.readLocalApic(vcpu).apicId;
  using route = kvm.partition.irqfd()!.newIrqFdRoute();
  route.setMsi(0xfee00000 + apicId * 0x1000, VECTOR);
  route.unmask();
  return Promise.resolve(
    measure({ partition: kvm.partition, route, completionFd: route.event.fd!, irrSet: kvm.irrPoller(vcpu, VECTOR), vcpu, AioContext: sys.AioContext, where: `vCPU ${vcpu}, vector 0x${VECTOR.toString(16)}, kernel irqfd` }),
  );
};

/** The bounds of the rounds, in ms; tests shorten them. */
export const COMPLETION_ROUNDS_MS = { quick: 20_000, full: 60_000 };

/**
 * The rounds on `rig`: a file of known bytes, an AIO context, a warm-up, then both paths
 * interleaved. Each sample's wait is bounded ({@link DELIVERY_DEADLINE_MS}), each read is reaped
 * (and its bytes checked) before the next sample, outside the timed region, and the rounds as a whole
 * have a budget. Throws {@link Stalled} or {@link MeasurementFailed}; AIO refused by the host
 * (UNSUPPORTED, PERMISSION), and a file that cannot be made in the temp directory (TMPDIR), are
 * returned as {@link Unavailable}.
 */
export function measureCompletion(rig: CompletionRig, ctx: Pick<SectionContext, 'quick' | 'progress'>, roundsMs = COMPLETION_ROUNDS_MS): SectionOutput | Unavailable {
  const content = Buffer.from(Array.from({ length: READ_BYTES }, (_, i) => (i * 29 + 1) & 0xff));
  let file: TempFile;
  try {
    file = makeTempFile('tsvmm-bench-aio-', 'data', content);
  } catch (e) {
    if (e instanceof TempUnavailable) return { unavailable: `the file it reads cannot be made: ${e.message}` };
    throw e;
  }
  const { fd } = file;
  try {
    let aio: LinuxSys.AioContext;
    try {
      aio = rig.AioContext.create({ capacity: 1, maxReadBytes: READ_BYTES });
    } catch (e) {
      if (isVirtError(e, 'UNSUPPORTED') || isVirtError(e, 'PERMISSION')) return { unavailable: `Linux AIO is not available: ${e.message}` };
      throw e;
    }
    try {
      return measureWith(aio);
    } finally {
      aio.dispose();
    }
  } finally {
    file[Symbol.dispose]();
  }

  function measureWith(aio: LinuxSys.AioContext): SectionOutput {
    const { partition, vcpu } = rig;
    /** Reaps the read in flight (untimed): it must complete, once, with the file's bytes. */
    const reap = (): void => {
      if (aio.inFlight === 0) return;
      const done = aio.getEvents({ min: 1, timeoutMs: DELIVERY_DEADLINE_MS });
      if (done.length !== 1) throw new Stalled('the file read to complete (io_getevents)', DELIVERY_DEADLINE_MS);
      if (done[0]!.result !== READ_BYTES || !Buffer.from(done[0]!.data).equals(content)) {
        throw new MeasurementFailed(`the file read completed with ${done[0]!.result} (expected ${READ_BYTES} bytes as written)`);
      }
    };
    const aioProbe: NodeProbe = {
      clear: () => (reap(), partition.clearIrr(vcpu)),
      signal: () => void aio.submitRead({ fd, length: READ_BYTES, completion: rig.completionFd }),
      irrSet: rig.irrSet,
      vcpu,
    };
    const writeProbe: NodeProbe = { clear: () => partition.clearIrr(vcpu), signal: () => rig.route.event.signal(), irrSet: rig.irrSet, vcpu };
    const rounds = ctx.quick ? 6 : 50;
    const batch = ctx.quick ? 20 : 100;
    const spent = budget(ctx.quick ? roundsMs.quick : roundsMs.full, `the warm-up and ${rounds} interleaved rounds of ${batch} completions and writes`);
    const fns = [aioProbe, writeProbe].map((p, i) => () => {
      try {
        return nodeDeliveryBatch(p, batch, spent);
      } catch (e) {
        if (e instanceof Stalled) throw new MeasurementFailed(`${e.message} (sampling ${NAMES[i]})`);
        throw e;
      }
    });
    for (const f of fns) f();
    const [viaAio, viaWrite] = interleave(rounds, fns, (r) => ctx.progress.update(r, rounds, `round ${r}/${rounds}`)) as [number[], number[]];
    reap();
    const a = summarize(viaAio);
    const w = summarize(viaWrite);
    const out = emptyOutput();
    out.metrics.push(
      withRatio({
        name: NAMES[0],
        unit: 'µs',
        value: a.median,
        p99: a.p99,
        count: a.count,
        baseline: w.median,
        baselineName: NAMES[1],
        baselineP99: w.p99,
        baselineCount: w.count,
        description: DESCRIPTIONS[NAMES[0]],
      }),
      withRatio({ name: NAMES[1], unit: 'µs', value: w.median, p99: w.p99, count: w.count, baseline: null, description: DESCRIPTIONS[NAMES[1]] }),
    );
    out.distributions.push(distribution(NAMES[0], 'µs', viaAio), distribution(NAMES[1], 'µs', viaWrite));
    out.notes.push(`completion: ${rig.where}, ${rounds} interleaved rounds of ${batch} samples each; each read reaped and checked before the next sample, outside the timed region.`);
    return out;
  }
}

/**
 * The completion section on the rigs of `source` (KVM by default). A stalled wait or a failed check
 * reports both metrics as failed with the reason (the run exits 1); no KVM or no AIO, as skipped.
 */
export function completionSection(source: CompletionRigSource = kvmCompletionRig, roundsMs = COMPLETION_ROUNDS_MS): BenchSection {
  return oneStepSection(
    'completion',
    'file-read completion → IRR on KVM',
    'completion: a file read completes into IRR (AIO eventfd → kernel irqfd) vs the same route written from Node',
    DESCRIPTIONS,
    async (ctx) => {
      let measured: SectionOutput | Unavailable | undefined;
      const opened = await source(ctx, (rig) => {
        measured = measureCompletion(rig, ctx, roundsMs);
        return 'unavailable' in measured ? emptyOutput() : measured;
      });
      return 'unavailable' in opened ? opened : (measured ?? opened);
    },
  );
}
