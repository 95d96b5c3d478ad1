import { wrapText } from '../src/output/wrap';

describe('wrapText', () => {
  it('breaks at spaces within the width, indents every line, and keeps every word in order', () => {
    const text = 'open(/dev/kvm) failed (ENOENT 2) [UNAVAILABLE]. /dev/kvm does not exist: this host has no KVM.';
    const lines = wrapText(text, 30, '      ', '    ');
    expect(lines[0]).toBe('    open(/dev/kvm) failed');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(30);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {6}\S/);
    expect(lines.map((l) => l.trim()).join(' ')).toBe(text);
  });

  it('keeps a word longer than the width whole, on its own line', () => {
    expect(wrapText('a 0123456789abcdef b', 10, '')).toEqual(['a', '0123456789abcdef', 'b']);
  });

  it('leaves a short text on one line', () => {
    expect(wrapText('Backend: kvm (fine)', 100, '  ')).toEqual(['  Backend: kvm (fine)']);
  });
});
