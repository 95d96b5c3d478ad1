/**
 * The one-step sections (completion, delivery) announce their one progress step, then report what
 * their rig source gives: an unavailable rig skips every metric under the section's id, a failed
 * check fails every metric, and a measured output is the section's output as it is.
 */
import type { Progress } from '../src/bench/progress';
import { type BenchSection, MeasurementFailed, type SectionContext, type SectionOutput, type Unavailable, emptyOutput } from '../src/bench/section';
import { completionSection } from '../src/bench/sections/completion';
import { deliverySection } from '../src/bench/sections/delivery';

type Outcome = () => Promise<SectionOutput | Unavailable>;

const SECTIONS: [string, string, (outcome: Outcome) => BenchSection][] = [
  ['completion', 'completion: a file read completes into IRR', (outcome) => completionSection(() => outcome())],
  ['delivery', 'delivery: irqfd / raw write / relay', (outcome) => deliverySection(() => outcome())],
];

function recordingContext(): { ctx: SectionContext; steps: string[]; notes: string[] } {
  const steps: string[] = [];
  const notes: string[] = [];
  const progress: Progress = { step: (l) => steps.push(l), update() {}, note: (t) => notes.push(t), done() {} };
  return { ctx: { quick: true, progress, kvmUnavailable: undefined, kvm: undefined }, steps, notes };
}

describe.each(SECTIONS)('the %s section', (id, stepStart, make) => {
  it('is one step, announced before its rig is opened', async () => {
    const { ctx, steps } = recordingContext();
    let stepsAtOpen = -1;
    const section = make(async () => {
      stepsAtOpen = steps.length;
      return { unavailable: 'no rig here' };
    });
    expect([section.id, section.steps]).toEqual([id, 1]);
    await section.run(ctx);
    expect(stepsAtOpen).toBe(1);
    expect(steps).toHaveLength(1);
    expect(steps[0]!.startsWith(stepStart)).toBe(true);
  });

  it('skips every metric, noting the reason under its id, when the rig is unavailable', async () => {
    const { ctx, notes } = recordingContext();
    const out = await make(async () => ({ unavailable: 'no rig here' })).run(ctx);
    expect(out.metrics.length).toBeGreaterThan(1);
    for (const m of out.metrics) expect(m).toMatchObject({ name: expect.stringMatching(new RegExp(`^${id}\\.`)), value: null, skipped: 'no rig here' });
    expect(notes).toEqual([`${id}: skipped: no rig here`]);
  });

  it('fails every metric, noting the message under its id, when a check fails', async () => {
    const { ctx, notes } = recordingContext();
    const out = await make(async () => {
      throw new MeasurementFailed('the route is not what the measurement needs');
    }).run(ctx);
    expect(out.metrics.length).toBeGreaterThan(1);
    for (const m of out.metrics) expect(m).toMatchObject({ value: null, failed: 'the route is not what the measurement needs' });
    expect(notes).toEqual([`${id}: FAILED: the route is not what the measurement needs`]);
  });

  it('passes a measured output through as it is', async () => {
    const { ctx, notes } = recordingContext();
    const measured = { ...emptyOutput(), notes: ['measured'] };
    const out = await make(async () => measured).run(ctx);
    expect(out).toBe(measured);
    expect(notes).toEqual([]);
  });
});
