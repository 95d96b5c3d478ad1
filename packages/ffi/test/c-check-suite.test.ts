import { defineStruct, generateCCheck } from '../src';
import { describeCCheck, misdeclared, requestNumbers } from '../src/testing';

// A local header with every kind of line the check prints: a word of bitfields only, a union whose
// integer member also holds bitfields (as kvm_ioapic_state's redirtbl), a plain member, an ioctl-like
// macro and a constant.
const HEADER = `#include <stdint.h>
struct ctl {
  uint64_t Type : 8, Mode : 4, rest : 52;
  union { uint64_t bits; struct { uint64_t vector : 8, more : 56; } fields; } r;
  uint32_t dest;
};
#define REQ_A 0x1234u
#define K 7
`;
const CTL = defineStruct(
  'struct ctl',
  { word: { type: 'u64', bitfieldsOnly: true }, r: { type: 'u64', c: 'r.bits' }, dest: 'u32' },
  {
    bits: {
      Type: { field: 'word', bit: 0, width: 8 },
      Mode: { field: 'word', bit: 8, width: 4 },
      vector: { field: 'r', bit: 0, width: 8, c: 'r.fields.vector' },
    },
  },
);
const SPEC = { headers: ['suite.h'], layouts: [CTL], ioctls: [{ name: 'REQ_A', request: 0x1234 }], constants: { K: 7 } };

describeCCheck('the shared C check suite, on a local header', SPEC, { localHeaders: { 'suite.h': HEADER }, atLeast: 10 });

describe('misdeclared', () => {
  it('changes every value the check compares, and keeps the program', () => {
    const wrong = misdeclared(SPEC);
    const right = generateCCheck(SPEC);
    const changed = generateCCheck(wrong.spec);
    expect(changed.source).toBe(right.source);
    expect(changed.expected.filter((line, i) => line === right.expected[i])).toEqual([...wrong.pinned]);
  });

  it('pins only the offset and width of a member that holds bitfields (a word of bitfields only has neither)', () => {
    expect([...misdeclared(SPEC).pinned]).toEqual(['offsetof struct ctl r.bits 8', 'width struct ctl r.bits 8']);
  });
});

test('a suite whose headers this host lacks is one skipped test that says why, and a SKIPPED line', () => {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { describe: g.describe, it: g.it };
  const seen: string[] = [];
  let written: unknown[][] = [];
  const skip = (name: string) => seen.push(`skip ${name}`);
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    g.describe = (name: string, fn: () => void) => {
      seen.push(`describe ${name}`);
      fn();
    };
    g.it = Object.assign((name: string) => seen.push(`it ${name}`), { skip });
    describeCCheck('new header', SPEC, { unavailable: 'the installed header predates it' });
    written = write.mock.calls;
  } finally {
    Object.assign(g, saved);
    write.mockRestore();
  }
  expect(seen).toEqual(['describe new header', 'skip needs the headers: the installed header predates it']);
  expect(written).toEqual([['SKIPPED "new header": the installed header predates it\n']]);
});

/** Declares a suite with stand-in runner globals and returns its tests, to run them here. */
function declared(title: string, spec: unknown, options = {}): { name: string; fn: () => void }[] {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { describe: g.describe, it: g.it };
  const tests: { name: string; fn: () => void }[] = [];
  try {
    g.describe = (_name: string, fn: () => void) => fn();
    g.it = Object.assign((name: string, fn: () => void) => tests.push({ name, fn }), { skip: (name: string) => tests.push({ name: `skip ${name}`, fn: () => undefined }) });
    describeCCheck(title, spec as typeof SPEC, options);
  } finally {
    Object.assign(g, saved);
  }
  return tests;
}

test('a malformed spec is refused when the suite is declared, naming the field', () => {
  expect(() => declared('bad', { headers: [], ioctls: [] })).toThrow(new RangeError('C check spec: layouts must be an array of layouts (from defineStruct or defineLayout)'));
  expect(() => declared('bad', { headers: 'suite.h', layouts: [], ioctls: [] })).toThrow(/C check spec: headers must be an array/);
  expect(() => declared('bad', { headers: [], layouts: [{}], ioctls: [] })).toThrow(/C check spec: layouts\[0\] is not a layout/);
  expect(() => declared('bad', { headers: [], layouts: [], ioctls: [{ name: 'X' }] })).toThrow(/C check spec: ioctls\[0\] is not a \{ name, request \}/);
  expect(() => declared('bad', { headers: [], layouts: [], ioctls: [], constants: { K: '7' } })).toThrow(/C check spec: constants\.K is 7, not an integer/);
  expect(() => declared('bad', { headers: [], ioctls: [] }, { unavailable: 'old headers' })).toThrow(/layouts must be an array/);
});

test('a header this host lacks fails both tests (only `unavailable` skips)', () => {
  const tests = declared('missing header', { ...SPEC, headers: ['tsvmm-no-such-header.h'] });
  expect(tests.map((t) => t.name)).toHaveLength(2);
  for (const t of tests) expect(t.fn).toThrow(/tsvmm-no-such-header\.h/);
});

test('requestNumbers: each ioctl number by its name', () => {
  expect(requestNumbers([{ name: 'A', request: 1 }, { name: 'B', request: 0xc008ae05 }])).toEqual({ A: 1, B: 0xc008ae05 });
});
