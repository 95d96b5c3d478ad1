/**
 * The C layout check as a test suite, one body for every package that defines an ABI: the
 * definitions match the installed headers, every value is checked, and every value declared wrong
 * is caught.
 */
import { type CCheckSpec, type NamedRequest, type RunCCheckOptions, generateCCheck, runCCheck } from '../c-check';
import { type FieldDef, type FieldType, type StructLayout, fieldWidth } from '../layout';

interface Matchers {
  toEqual(expected: unknown): void;
  toBe(expected: unknown): void;
  toBeGreaterThanOrEqual(expected: number): void;
}

interface RunnerGlobals {
  readonly describe: (name: string, fn: () => void) => void;
  readonly it: ((name: string, fn: () => void) => void) & { readonly skip: (name: string, fn: () => void) => void };
  readonly expect: (actual: unknown) => Matchers;
}

/** The runner's globals, read when the suite is declared (the module itself loads outside a runner). */
function runner(): RunnerGlobals {
  const globals: unknown = globalThis;
  return globals as RunnerGlobals;
}

/** Options of {@link describeCCheck}. */
export interface CCheckSuiteOptions extends RunCCheckOptions {
  /**
   * Set when this host's headers cannot check `spec` (an installed header older than the
   * definitions): the suite is then one skipped test that gives this reason, and one `SKIPPED` line
   * on stderr. A skip is never a pass.
   */
  readonly unavailable?: string;
  /** The fewest lines the check must print, so that a list of definitions that shrank is noticed. */
  readonly atLeast?: number;
}

const OTHER_WIDTH: Readonly<Record<FieldType, FieldType>> = { u8: 'u16', u16: 'u32', u32: 'u64', i32: 'u64', u64: 'u32' };

/** What {@link misdeclared} returns. */
export interface Misdeclared {
  /** The spec with every compared value changed. */
  readonly spec: CCheckSpec;
  /** The expected lines that stay right: the offset and width of each member that holds bitfields. */
  readonly pinned: ReadonlySet<string>;
}

/**
 * `spec` with every value the C check compares declared wrong, and the program unchanged: each
 * layout's size one more, each field one byte later and of another width, each bitfield one bit
 * over, each ioctl number and constant one more. A field that holds bitfields keeps its offset and
 * width, since the program reads the bitfields' bits from there: `pinned` lists its lines, which
 * stay as they are.
 */
export function misdeclared(spec: CCheckSpec): Misdeclared {
  const pinned = new Set<string>();
  const layouts = spec.layouts.map((l): StructLayout<string, string> => {
    const words = new Set(Object.values(l.bits).map((b) => b.field));
    const fields: Record<string, Required<FieldDef>> = {};
    for (const [name, f] of Object.entries<Required<FieldDef>>(l.fields)) {
      if (words.has(name)) {
        fields[name] = f;
        if (!f.bitfieldsOnly) pinned.add(`offsetof ${l.cType} ${f.c} ${f.offset}`).add(`width ${l.cType} ${f.c} ${fieldWidth(f.type)}`);
      } else {
        fields[name] = { ...f, offset: f.offset + 1, type: OTHER_WIDTH[f.type] };
      }
    }
    const bits = Object.fromEntries(
      Object.entries(l.bits).map(([name, b]) => {
        const wordBits = fieldWidth(l.fields[b.field]!.type) * 8;
        return [name, { ...b, bit: b.bit + b.width < wordBits ? b.bit + 1 : b.bit - 1 }];
      }),
    );
    return { ...l, size: l.size + 1, fields, bits };
  });
  const ioctls = spec.ioctls.map((io): NamedRequest => ({ name: io.name, request: (io.request + 1) >>> 0 }));
  const constants = Object.fromEntries(Object.entries(spec.constants ?? {}).map(([name, v]) => [name, v + 1]));
  return { spec: { ...spec, layouts, ioctls, constants }, pinned };
}

/**
 * A `describe` named `title` with two tests: the program {@link generateCCheck} writes for `spec`,
 * compiled against the installed headers ({@link runCCheck}), prints exactly what the definitions
 * say, with a line for every field, bitfield, ioctl and constant; and with every value declared
 * wrong ({@link misdeclared}) the same program disagrees on every line but the pinned ones.
 *
 * A malformed `spec` throws RangeError when the suite is declared, naming the field
 * ({@link generateCCheck}). What needs the compiler fails inside the tests: a missing `cc` (the
 * message says what to install) and a header this host lacks (the compiler's error), both tests
 * failing. Only `options.unavailable` turns the suite into one skipped test; the caller decides
 * when the host's headers cannot check `spec`.
 * Uses the test runner's globals (jest, or any runner with `describe`, `it`, `it.skip`, `expect`).
 */
export function describeCCheck(title: string, spec: CCheckSpec, options: CCheckSuiteOptions = {}): void {
  const { describe, it } = runner();
  const check = generateCCheck(spec);
  if (options.unavailable !== undefined) {
    process.stderr.write(`SKIPPED "${title}": ${options.unavailable}\n`);
    describe(title, () => it.skip(`needs the headers: ${options.unavailable}`, () => undefined));
    return;
  }
  let printed: string[] | undefined;
  const compiled = (): string[] => (printed ??= runCCheck(check, options));
  describe(title, () => {
    it('every size, offset, member width, bitfield, ioctl number and constant is the header’s', () => {
      const { expect } = runner();
      expect(compiled()).toEqual(check.expected);
      const count = (kind: string): number => check.expected.filter((line) => line.startsWith(`${kind} `)).length;
      const fields = spec.layouts.flatMap((l) => Object.values<Required<FieldDef>>(l.fields)).filter((f) => !f.bitfieldsOnly).length;
      expect([count('sizeof'), count('offsetof'), count('width'), count('bits'), count('ioctl'), count('const')]).toEqual([
        spec.layouts.length,
        fields,
        fields,
        spec.layouts.reduce((n, l) => n + Object.keys(l.bits).length, 0),
        spec.ioctls.length,
        Object.keys(spec.constants ?? {}).length,
      ]);
      expect(check.expected.length).toBeGreaterThanOrEqual(options.atLeast ?? 1);
    });
    it('each of those values, declared wrong, is caught', () => {
      const { expect } = runner();
      const wrong = misdeclared(spec);
      const wrongCheck = generateCCheck(wrong.spec);
      expect(wrongCheck.source).toBe(check.source);
      const actual = compiled();
      const agreeing = wrongCheck.expected.filter((line, i) => line === actual[i]);
      expect(agreeing).toEqual(wrongCheck.expected.filter((line) => wrong.pinned.has(line)));
    });
  });
}

/** Ioctl numbers by name, `{ KVM_IRQFD: 0x4020ae76, ... }`, to compare with a reference's table. */
export function requestNumbers(ioctls: readonly NamedRequest[]): Record<string, number> {
  return Object.fromEntries(ioctls.map((io) => [io.name, io.request]));
}
