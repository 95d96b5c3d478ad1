/**
 * parseMsi accepts a message on its allocation-free path only when validateMsi would: the two are
 * held together over messages built near every rule's edge, under every policy shape.
 */
import { parseMsi, validateMsi } from '../src';
import { sameMsi } from '../src/implement';
import { describeEdgeMessage, edgeMessages } from './support/msi-edge-messages';

test('parseMsi and validateMsi agree on 60,000 messages near every rule, under every policy', () => {
  const next = edgeMessages(17);
  let accepted = 0;
  for (let i = 0; i < 60_000; i++) {
    const m = next();
    const { lo, hi, data, address, policy } = m;
    let viaParse = true;
    try {
      parseMsi('t', address, data, policy);
    } catch {
      viaParse = false;
    }
    let viaValidate = true;
    try {
      validateMsi('t', { addressLo: lo, addressHi: hi, data }, policy);
    } catch {
      viaValidate = false;
    }
    if (viaParse !== viaValidate) throw new Error(`disagree on ${describeEdgeMessage(m)}: parse ${viaParse}, validate ${viaValidate}`);
    if (viaParse) accepted++;
  }
  // Both sides of every rule were drawn.
  expect(accepted).toBeGreaterThan(1_000);
  expect(accepted).toBeLessThan(59_000);
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
