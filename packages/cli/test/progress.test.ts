import { createProgress } from '../src/bench/progress';
import { memoryIo } from '../src/cli/io';

describe('bench progress', () => {
  it('prints plain lines (steps and quarter marks) when stderr is not a terminal', () => {
    const io = memoryIo();
    const p = createProgress(io, 2);
    p.step('first');
    for (let i = 1; i <= 8; i++) p.update(i, 8, `round ${i}/8`);
    p.step('second');
    p.note('a warning');
    p.done();
    expect(io.stderr).toBe('[1/2] first\n    25% (round 2/8)\n    50% (round 4/8)\n    75% (round 6/8)\n[2/2] second\na warning\n');
    expect(io.stdout).toBe('');
  });

  it('redraws one line on a terminal and leaves a permanent line per finished step', () => {
    const io = { ...memoryIo(), errIsTTY: true, stderr: '' };
    io.err = (t: string) => void (io.stderr += t);
    const p = createProgress(io, 1);
    p.step('only');
    p.update(1, 2);
    p.update(2, 2);
    p.done();
    const visible = io.stderr.split('\r\x1b[2K');
    expect(visible[visible.length - 2]).toBe('[1/1] 100%: only');
    expect(visible[visible.length - 1]).toMatch(/^\[1\/1\] only: done in \d+\.\d s\n$/);
  });

  it('cuts redrawn lines to the terminal width (a wrapped line could not be erased), figures first', () => {
    const io = { ...memoryIo(), errIsTTY: true, errColumns: 40, stderr: '' };
    io.err = (t: string) => void (io.stderr += t);
    const p = createProgress(io, 3);
    p.step('delivery: irqfd / raw write / relay / C relay (signal → IRR, interleaved)');
    p.update(1, 4, 'round 1/4');
    const redrawn = io.stderr.split('\r\x1b[2K');
    for (const line of redrawn) expect(line.length).toBeLessThanOrEqual(39);
    expect(redrawn[redrawn.length - 1]).toBe('[1/3] 25% (round 1/4): delivery: irqfd…');
  });

  it('wraps the lines that stay to the width of stderr, losing no word', () => {
    const io = memoryIo({ COLUMNS: '40' });
    const p = createProgress(io, 1);
    const reason = 'delivery: skipped: KVM is not available: open(/dev/kvm) failed (ENOENT 2) [UNAVAILABLE]. Load the kvm module.';
    p.step('delivery: irqfd / raw write / relay / C relay (signal → IRR, interleaved)');
    p.note(reason);
    p.done();
    const lines = io.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(4);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(io.stderr.replace(/\s+/g, ' ').trim()).toBe(`[1/1] delivery: irqfd / raw write / relay / C relay (signal → IRR, interleaved) ${reason}`);
  });

  it('wraps the permanent line of a finished step to the terminal width, losing no word', () => {
    const io = { ...memoryIo(), errIsTTY: true, errColumns: 60, stderr: '' };
    io.err = (t: string) => void (io.stderr += t);
    const p = createProgress(io, 9);
    const label = 'msix.enable_2048: enable 2048 vectors, one commit each versus one batched commit';
    p.step(label);
    p.done();
    const kept = io.stderr.split('\r\x1b[2K').pop()!;
    const lines = kept.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(kept.replace(/\s+/g, ' ').trim()).toMatch(new RegExp(`^\\[1/9\\] ${label.replace(/[.]/g, '\\.')}: done in \\d+\\.\\d s$`));
  });

  it('is silent when disabled', () => {
    const io = memoryIo();
    const p = createProgress(io, 1, false);
    p.step('x');
    p.update(1, 1);
    p.note('n');
    p.done();
    expect(io.stderr).toBe('');
  });
});
