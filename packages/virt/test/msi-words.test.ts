/**
 * parseMsiWords (`@tsvmm/virt/implement`) is parseMsi for a message held as three 32-bit words:
 * over messages near every rule's edge, under every policy shape, it returns the same message or
 * throws the same error as parseMsi with the joined address; words that are not unsigned 32-bit
 * integers are INVALID_ARGUMENT naming the word.
 */
import { isVirtError, parseMsi } from '../src';
import { parseMsiWords } from '../src/implement';
import { describeEdgeMessage, overEdgeMessages } from './support/msi-edge-messages';

/** The message, or the error's code and message. */
function outcome(fn: () => unknown): unknown {
  try {
    return { msi: fn() };
  } catch (e) {
    return isVirtError(e) ? { code: e.code, message: e.message } : { thrown: String(e) };
  }
}

test('parseMsiWords and parseMsi give the same message or the same error on 20,000 messages near every rule', () => {
  overEdgeMessages(29, 20_000, (m) => {
    const a = outcome(() => parseMsiWords('t', m.lo, m.hi, m.data, m.policy));
    const b = outcome(() => parseMsi('t', m.address, m.data, m.policy));
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`differ on ${describeEdgeMessage(m)}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    return 'msi' in (a as object);
  });
});

test('words that are not integers from 0 to 0xFFFFFFFF are INVALID_ARGUMENT naming the word', () => {
  const cases: Array<[unknown, unknown, unknown, string]> = [
    [-1, 0, 0x41, 'addressLo'],
    [0x1_0000_0000, 0, 0x41, 'addressLo'],
    [0xfee00000, 0.5, 0x41, 'addressHi'],
    [0xfee00000, 1n, 0x41, 'addressHi'],
    [0xfee00000, 0, '0x41', 'data'],
    [0xfee00000, 0, NaN, 'data'],
  ];
  for (const [lo, hi, data, name] of cases) {
    const o = outcome(() => parseMsiWords('op', lo, hi, data)) as { code?: string; message?: string };
    expect({ code: o.code, names: o.message?.startsWith(`op: ${name} must be a 32-bit unsigned integer`) }).toEqual({ code: 'INVALID_ARGUMENT', names: true });
  }
  expect(parseMsiWords('op', 0xfee00000, -0, 0x41)).toEqual({ addressLo: 0xfee00000, addressHi: 0, data: 0x41 });
});
