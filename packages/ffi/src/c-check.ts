/**
 * Generates a C program that prints the size, member offsets and widths of layouts (and the bits
 * each bitfield occupies), ioctl numbers and constants as the installed headers define them, and the lines the TypeScript
 * definitions expect, so a test can compile it with `cc` and compare.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BitfieldDef, type FieldDef, type StructLayout, fieldWidth } from './layout';

/** A request number the C program prints by its macro name (an ioctl: `name` is its C macro). */
export interface NamedRequest {
  /** The C macro (e.g. `KVM_IRQFD`), printed by the program as the headers expand it. */
  readonly name: string;
  /** The number the TypeScript side uses (an ioctl request, as `_IOW` builds it). */
  readonly request: number;
}

/** What {@link generateCCheck} checks: the headers to include and the definitions to test against them. */
export interface CCheckSpec {
  /** Headers to `#include <...>`, e.g. `['linux/kvm.h']`. */
  readonly headers: readonly string[];
  /** Layouts whose `sizeof`, member offsets, member widths and bitfield masks are checked. */
  readonly layouts: readonly StructLayout<string, string>[];
  /** Request numbers compared with the C macro of the same name. */
  readonly ioctls: readonly NamedRequest[];
  /** Integer constants by C macro name, compared as `long` (e.g. `{ KVM_IRQFD_FLAG_DEASSIGN: 1 }`). */
  readonly constants?: Readonly<Record<string, number>>;
}

/** A generated C check: compile and run `source`, then compare its output with `expected`. */
export interface CCheck {
  /** A complete C program (`main` included) that prints one line per check and returns 0. */
  readonly source: string;
  /** What the program must print, one check per line. */
  readonly expected: readonly string[];
}

/** Refuses a spec a plain JavaScript caller got wrong, naming the field, before any line is generated. */
function checkSpec(spec: unknown): asserts spec is CCheckSpec {
  const refuse = (what: string): never => {
    throw new RangeError(`C check spec: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) refuse(`${String(spec)} is not a spec ({ headers, layouts, ioctls, constants? })`);
  const s = spec as Record<string, unknown>;
  const isString = (v: unknown): boolean => typeof v === 'string' && v !== '';
  if (!Array.isArray(s.headers) || !s.headers.every(isString)) refuse('headers must be an array of header names (e.g. ["linux/kvm.h"])');
  const layouts = s.layouts;
  if (!Array.isArray(layouts)) refuse('layouts must be an array of layouts (from defineStruct or defineLayout)');
  (layouts as unknown[]).forEach((l, i) => {
    const layout = l as Partial<StructLayout<string, string>> | null;
    if (typeof layout !== 'object' || layout === null || !isString(layout.cType) || !Number.isInteger(layout.size) || typeof layout.fields !== 'object' || typeof layout.bits !== 'object') {
      refuse(`layouts[${i}] is not a layout (from defineStruct or defineLayout)`);
    }
  });
  const ioctls = s.ioctls;
  if (!Array.isArray(ioctls)) refuse('ioctls must be an array of { name, request } (empty for none)');
  (ioctls as unknown[]).forEach((io, i) => {
    const r = io as Partial<NamedRequest> | null;
    if (typeof r !== 'object' || r === null || !isString(r.name) || !Number.isInteger(r.request)) refuse(`ioctls[${i}] is not a { name, request }`);
  });
  if (s.constants !== undefined) {
    if (typeof s.constants !== 'object' || s.constants === null) refuse('constants must be an object of numbers by C macro name');
    for (const [name, v] of Object.entries(s.constants as object)) {
      if (!Number.isInteger(v)) refuse(`constants.${name} is ${String(v)}, not an integer`);
    }
  }
}

/**
 * Generates the C program for `spec` and the lines it must print: `sizeof <type> <n>`,
 * `offsetof <type> <member> <n>`, `width <type> <member> <n>` (bytes), `bits <type> <member> <hex mask>`,
 * `ioctl <macro> <n>` and `const <macro> <n>`. Pure: compiles nothing ({@link runCCheck} does).
 * Throws RangeError, naming the field, for a malformed spec (`headers`, `layouts` or `ioctls` not
 * an array, an entry of the wrong shape, a constant that is not an integer).
 */
export function generateCCheck(spec: CCheckSpec): CCheck {
  checkSpec(spec);
  const body: string[] = [];
  const expected: string[] = [];
  for (const l of spec.layouts) {
    body.push(`  printf("sizeof ${l.cType} %zu\\n", sizeof(${l.cType}));`);
    expected.push(`sizeof ${l.cType} ${l.size}`);
    for (const f of Object.values<Required<FieldDef>>(l.fields)) {
      if (f.bitfieldsOnly) continue; // no C member to take the offset of: its bitfields are checked below
      body.push(`  printf("offsetof ${l.cType} ${f.c} %zu\\n", offsetof(${l.cType}, ${f.c}));`);
      expected.push(`offsetof ${l.cType} ${f.c} ${f.offset}`);
      body.push(`  printf("width ${l.cType} ${f.c} %zu\\n", sizeof(((${l.cType} *)0)->${f.c}));`);
      expected.push(`width ${l.cType} ${f.c} ${fieldWidth(f.type)}`);
    }
  }
  for (const l of spec.layouts) {
    // A bitfield has no offsetof: set it to all ones (-1 converts to all ones, any width) in a zeroed struct and print the bytes it
    // touched, as the word it lives in (the bit position and width, as the compiler lays them out).
    for (const b of Object.values<Required<BitfieldDef>>(l.bits)) {
      const word = l.fields[b.field]!;
      const w = fieldWidth(word.type);
      body.push(
        `  { ${l.cType} v; unsigned long long m = 0; memset(&v, 0, sizeof v); v.${b.c} = -1; ` +
          `memcpy(&m, (unsigned char *)&v + ${word.offset}, ${w}); printf("bits ${l.cType} ${b.c} %llx\\n", m); }`,
      );
      const mask = ((1n << BigInt(b.width)) - 1n) << BigInt(b.bit);
      expected.push(`bits ${l.cType} ${b.c} ${mask.toString(16)}`);
    }
  }
  for (const io of spec.ioctls) {
    body.push(`  printf("ioctl ${io.name} %lu\\n", (unsigned long)(${io.name}));`);
    expected.push(`ioctl ${io.name} ${io.request}`);
  }
  for (const [name, value] of Object.entries(spec.constants ?? {})) {
    body.push(`  printf("const ${name} %ld\\n", (long)(${name}));`);
    expected.push(`const ${name} ${value}`);
  }
  const source = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <string.h>',
    ...spec.headers.map((h) => `#include <${h}>`),
    'int main(void) {',
    ...body,
    '  return 0;',
    '}',
    '',
  ].join('\n');
  return { source, expected };
}

/** Options of {@link runCCheck}. */
export interface RunCCheckOptions {
  /**
   * Headers written beside the program (name → text) and found through `-I`, for layouts whose
   * definitive header is not installed (a vendor header, a test's own struct).
   */
  readonly localHeaders?: Readonly<Record<string, string>>;
}

/**
 * Compiles `check.source` with `cc -Wall -Werror` in a temporary folder, runs it and returns the
 * lines it printed, to compare with `check.expected`. Throws, saying what to install, when there is
 * no C compiler: a layout check is never skipped silently.
 */
export function runCCheck(check: CCheck, options: RunCCheckOptions = {}): string[] {
  const cc = spawnSync('cc', ['--version']);
  if (cc.error || cc.status !== 0) {
    throw new Error('cc (a C compiler) is missing: install gcc (apt-get install gcc) so the layout check can run; it is never skipped.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-ccheck-'));
  try {
    for (const [name, text] of Object.entries(options.localHeaders ?? {})) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'check.c'), check.source);
    execFileSync('cc', ['-Wall', '-Werror', '-I', dir, '-o', join(dir, 'check'), join(dir, 'check.c')], { stdio: 'pipe' });
    return execFileSync(join(dir, 'check'), { encoding: 'utf8' }).trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
