/**
 * Nothing marked `@internal` is published: the built declarations of @tsvmm/virt (built with
 * stripInternal) contain no `@internal` member. Runs on the built package (its test task builds it
 * first); a missing build fails, it does not skip. Every other package is checked the same way
 * when it is packed (`pnpm check:packages`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function declarations(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...declarations(path));
    else if (entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

describe.each(['virt'])('built declarations of packages/%s', (pkg) => {
  const dist = join(__dirname, '..', '..', pkg, 'dist');
  it('exist (build the package first)', () => {
    expect(existsSync(dist)).toBe(true);
    expect(declarations(dist).length).toBeGreaterThan(0);
  });
  it("contain no @internal member", () => {
    const leaks = declarations(dist).filter((f) => readFileSync(f, 'utf8').includes('@internal'));
    expect(leaks).toEqual([]);
  });
});

test('a member marked @internal in the source is absent from the declaration', () => {
  const src = readFileSync(join(__dirname, '..', 'src', 'relay', 'relay-irqfd.ts'), 'utf8');
  expect(src).toMatch(/@internal \*\/\s*\n\s*forget\(/);
  const dts = readFileSync(join(__dirname, '..', 'dist', 'relay', 'relay-irqfd.d.ts'), 'utf8');
  expect(dts).not.toMatch(/forget\(/);
  expect(dts).toMatch(/newIrqFdRoute\(\)/);
});
