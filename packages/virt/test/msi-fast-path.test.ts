/**
 * parseMsi accepts a message on its allocation-free path only when validateMsi would: the two are
 * held together over messages built near every rule's edge, under every policy shape.
 */
import { type MsiPolicy, parseMsi, validateMsi } from '../src';
import { sameMsi } from '../src/implement';
import { seededRandom } from '../src/testing';


const POLICIES: MsiPolicy[] = [
  { addressHi: 'reject', backend: 'a' },
  { addressHi: 'x2apic-ids', backend: 'b' },
  { addressHi: 'x2apic-ids', backend: 'c', deliveryModes: ['fixed', 'lowest-priority', 'nmi', 'init'] },
  { addressHi: 'reject', backend: 'd', deliveryModes: [] },
  { addressHi: 'bogus', backend: 'e' } as unknown as MsiPolicy,
  { addressHi: 'reject', backend: 'f', deliveryModes: 'fixed' } as unknown as MsiPolicy,
  { addressHi: 'x2apic-ids', backend: 'g', extendedDestinationId: 'translate', maxApicId: 0x3ff },
  { addressHi: 'reject', backend: 'h', maxApicId: 1 },
  { addressHi: 'x2apic-ids', backend: 'i', maxApicId: 0x100 },
  { addressHi: 'reject', backend: 'j', extendedDestinationId: 'translate' },
  { addressHi: 'x2apic-ids', backend: 'k', maxApicId: -1 } as unknown as MsiPolicy,
];

test('parseMsi and validateMsi agree on 60,000 messages near every rule, under every policy', () => {
  const r = seededRandom(17);
  const word = () => Math.floor(r() * 0x1_0000_0000);
  // Each field is drawn from values at a rule's edge or at random.
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const los = () => pick([0xfee00000, 0xfee01000, 0xfeefffff, 0xfedfffff, 0xfef00000, 0xfee00004, 0xfee00008, 0xfee00010, 0xfee00020, 0xfee0f020, 0xfee01004, (0xfee00004 | 0xff000) >>> 0, 0xfee00001, 0xfee00002, (0xfee00000 | (word() & 0xfffff)) >>> 0, word()]);
  const his = () => pick([0, 0, 0x100, 0x1, 0xffffff00, 0x80, 0x10000, 0x300, word()]);
  const datas = () => pick([0x41, 0x10, 0x0f, 0x100 | 0x41, 0x200, 0x300 | 0x41, 0x400, 0x500, 0x600 | 0x41, 0x700, 0x8041, 0xc041, 0x4041, 0x841, 0x10041, word() & 0xffff, word()]);
  let accepted = 0;
  for (let i = 0; i < 60_000; i++) {
    const lo = los();
    const hi = his();
    const data = datas();
    const policy = pick(POLICIES);
    const address = (BigInt(hi) << 32n) | BigInt(lo);
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
    if (viaParse !== viaValidate) throw new Error(`disagree on lo ${lo.toString(16)} hi ${hi.toString(16)} data ${data.toString(16)} policy ${JSON.stringify(policy)}: parse ${viaParse}, validate ${viaValidate}`);
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
