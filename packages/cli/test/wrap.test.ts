import { wrapBlock, wrapLine, wrapText } from '../src/output/wrap';

describe('wrapText', () => {
  it('breaks at spaces within the width, indents every line, and keeps every word in order', () => {
    const text = 'open(/dev/kvm) failed (ENOENT 2) [UNAVAILABLE]. /dev/kvm does not exist: this host has no KVM.';
    const lines = wrapText(text, 30, { first: '    ', rest: '      ' });
    expect(lines[0]).toBe('    open(/dev/kvm) failed');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(30);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {6}\S/);
    expect(lines.map((l) => l.trim()).join(' ')).toBe(text);
  });

  it('keeps a word longer than the width whole, on its own line', () => {
    expect(wrapText('a 0123456789abcdef b', 10, { first: '', rest: '' })).toEqual(['a', '0123456789abcdef', 'b']);
  });

  it('leaves a short text on one line, after the first indent only', () => {
    expect(wrapText('Backend: kvm (fine)', 100, { first: '', rest: '  ' })).toEqual(['Backend: kvm (fine)']);
  });

  it('puts the first line at the margin when only the continuations are indented', () => {
    const lines = wrapText('Backend: kvm (the best backend on this host: a reason long enough to wrap)', 40, { first: '', rest: '  ' });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0]).toMatch(/^Backend: kvm /);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {2}\S/);
  });
});

describe('wrapLine', () => {
  it('hangs a term-and-text line under its text, and any other line `hang` columns in from its indent', () => {
    const term = wrapLine('  delivery  signal → vector in the local APIC IRR on KVM: irqfd from Node vs a raw write', 40);
    expect(term[0]).toMatch(/^ {2}delivery {2}signal/);
    for (const l of term.slice(1)) expect(l).toMatch(/^ {12}\S/);
    const plain = wrapLine('  irqfd: kernel: KVM_IRQFD: the kernel injects the routed MSI inside the eventfd write', 40, 2);
    for (const l of plain.slice(1)) expect(l).toMatch(/^ {4}\S/);
    for (const l of [...term, ...plain]) expect(l.length).toBeLessThanOrEqual(40);
  });

  it('leaves a line that fits exactly as it is, double spaces included, and an empty line empty', () => {
    expect(wrapLine('  FAIL x: a  (expected b)', 40)).toEqual(['  FAIL x: a  (expected b)']);
    expect(wrapBlock('a\n\nb\n', 10)).toBe('a\n\nb\n');
  });
});
