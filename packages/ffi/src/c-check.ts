/**
 * Generates a C program that prints the size, member offsets and widths of layouts, ioctl numbers
 * and constants as the installed kernel headers define them, and the lines the TypeScript
 * definitions expect, so a test can compile it with `cc` and compare.
 */
import { type StructLayout, fieldWidth } from './layout';

/** A request number the C program prints by its macro name (an ioctl: `name` is its C macro). */
export interface NamedRequest {
  readonly name: string;
  readonly request: number;
}

export interface CCheckSpec {
  /** e.g. `['linux/kvm.h']`. */
  readonly headers: readonly string[];
  readonly layouts: readonly StructLayout[];
  readonly ioctls: readonly NamedRequest[];
  readonly constants?: Readonly<Record<string, number>>;
}

export interface CCheck {
  readonly source: string;
  /** What the program must print, one check per line. */
  readonly expected: readonly string[];
}

export function generateCCheck(spec: CCheckSpec): CCheck {
  const body: string[] = [];
  const expected: string[] = [];
  for (const l of spec.layouts) {
    body.push(`  printf("sizeof ${l.cType} %zu\\n", sizeof(${l.cType}));`);
    expected.push(`sizeof ${l.cType} ${l.size}`);
    for (const f of Object.values(l.fields)) {
      body.push(`  printf("offsetof ${l.cType} ${f.c} %zu\\n", offsetof(${l.cType}, ${f.c}));`);
      expected.push(`offsetof ${l.cType} ${f.c} ${f.offset}`);
      body.push(`  printf("width ${l.cType} ${f.c} %zu\\n", sizeof(((${l.cType} *)0)->${f.c}));`);
      expected.push(`width ${l.cType} ${f.c} ${fieldWidth(f.type)}`);
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
    ...spec.headers.map((h) => `#include <${h}>`),
    'int main(void) {',
    ...body,
    '  return 0;',
    '}',
    '',
  ].join('\n');
  return { source, expected };
}
