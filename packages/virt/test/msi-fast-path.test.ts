/**
 * parseMsi accepts a message on its allocation-free path only when validateMsi would: the two are
 * held together over messages built near every rule's edge, under every policy shape.
 */
import { parseMsi, validateMsi } from '../src';
import { sameMsi } from '../src/implement';
import { describeEdgeMessage, overEdgeMessages } from './support/msi-edge-messages';

test('parseMsi and validateMsi agree on 60,000 messages near every rule, under every policy', () => {
  overEdgeMessages(17, 60_000, (m) => {
    let viaParse = true;
    try {
      parseMsi('t', m.address, m.data, m.policy);
    } catch {
      viaParse = false;
    }
    let viaValidate = true;
    try {
      validateMsi('t', { addressLo: m.lo, addressHi: m.hi, data: m.data }, m.policy);
    } catch {
      viaValidate = false;
    }
    if (viaParse !== viaValidate) throw new Error(`disagree on ${describeEdgeMessage(m)}: parse ${viaParse}, validate ${viaValidate}`);
    return viaParse;
  });
});

test('sameMsi compares the three words as 32-bit values and refuses anything else', () => {
  const m = { addressLo: 0xfee00000, addressHi: 0, data: 0x41 };
  expect(sameMsi(m, { ...m })).toBe(true);
  expect(sameMsi(m, { ...m, addressLo: 0xfee00000 | 0 })).toBe(true);
  expect(sameMsi({ ...m, data: -1 }, { ...m, data: 0xffffffff })).toBe(true);
  expect(sameMsi(m, { ...m, data: 0x42 })).toBe(false);
  expect(sameMsi(m, { ...m, addressHi: 0x100 })).toBe(false);
  expect(sameMsi(m, undefined)).toBe(false);
  expect(sameMsi(undefined, undefined)).toBe(true);
  expect(sameMsi({ ...m, data: NaN }, { ...m, data: NaN })).toBe(false);
  expect(sameMsi({ ...m, data: 0x1_0000_0000 }, { ...m, data: 0x1_0000_0000 })).toBe(false);
});
