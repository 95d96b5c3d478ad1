import { type MsiPolicy, VirtError, decodeMsi, describeMsi, encodeMsi, msiAddress, parseMsi, toMsiMessage, translateExtendedDestinationId, validateMsi } from '../src';
import { thrownBy } from '../src/testing';

const op = 'test';

describe('decodeMsi / encodeMsi', () => {
  test('decodes every field at its SDM bit position', () => {
    const f = decodeMsi({ addressLo: 0xfee3400c, addressHi: 0, data: 0xc541 });
    expect(f).toEqual({
      destinationId: 0x34,
      extendedDestinationId: 0,
      destinationMode: 'logical',
      redirectionHint: true,
      remappable: false,
      vector: 0x41,
      deliveryModeCode: 5,
      deliveryMode: 'init',
      triggerMode: 'level',
      levelAssert: true,
    });
  });

  test('destination ID takes upper address bits 31:8 (32-bit x2APIC IDs)', () => {
    expect(decodeMsi({ addressLo: 0xfee12000, addressHi: 0x00abcd00, data: 0x30 }).destinationId).toBe(0xabcd12);
  });

  test('extended destination ID and remappable bits are reported', () => {
    const f = decodeMsi({ addressLo: 0xfee00000 | (0x55 << 5) | 0x10, addressHi: 0, data: 0x30 });
    expect(f.extendedDestinationId).toBe(0x55);
    expect(f.remappable).toBe(true);
  });

  test('reserved delivery modes decode as undefined with their code', () => {
    expect(decodeMsi({ addressLo: 0xfee00000, addressHi: 0, data: 0x330 }).deliveryMode).toBeUndefined();
    expect(decodeMsi({ addressLo: 0xfee00000, addressHi: 0, data: 0x630 }).deliveryModeCode).toBe(6);
  });

  test('encode → decode round-trips', () => {
    const cases = [
      { destinationId: 0, vector: 16 },
      { destinationId: 0xfe, vector: 0xff, destinationMode: 'logical' as const, redirectionHint: true, deliveryMode: 'lowest-priority' as const },
      { destinationId: 0x12345678 & 0xffffff00, vector: 0x80, triggerMode: 'level' as const, levelAssert: true },
      { destinationId: 3, vector: 2, deliveryMode: 'nmi' as const },
    ];
    for (const c of cases) {
      const f = decodeMsi(encodeMsi(c));
      expect(f.destinationId).toBe(c.destinationId);
      expect(f.vector).toBe(c.vector);
      expect(f.destinationMode).toBe(c.destinationMode ?? 'physical');
      expect(f.redirectionHint).toBe(c.redirectionHint ?? false);
      expect(f.deliveryMode).toBe(c.deliveryMode ?? 'fixed');
      expect(f.triggerMode).toBe(c.triggerMode ?? 'edge');
      expect(f.levelAssert).toBe(c.levelAssert ?? false);
    }
    expect(encodeMsi({ destinationId: 1, vector: 0x41 })).toEqual({ addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  });

  test('encode rejects fields out of range', () => {
    expect(() => encodeMsi({ destinationId: -1, vector: 0x41 })).toThrow(VirtError);
    expect(() => encodeMsi({ destinationId: 0, vector: 256 })).toThrow(/vector/);
    expect(() => encodeMsi({ destinationId: 0, vector: 0x41, deliveryMode: 'bogus' as never })).toThrow(/delivery mode/);
  });
});

describe('toMsiMessage', () => {
  test('splits number and bigint addresses into halves', () => {
    expect(toMsiMessage(op, 0x1_fee0_1000, 0x41)).toEqual({ addressLo: 0xfee01000, addressHi: 1, data: 0x41 });
    expect(toMsiMessage(op, 0xffffffff_fee01000n, 0x41)).toEqual({ addressLo: 0xfee01000, addressHi: 0xffffffff, data: 0x41 });
    expect(msiAddress({ addressLo: 0xfee01000, addressHi: 0xffffffff, data: 0 })).toBe(0xffffffff_fee01000n);
  });

  test.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['unsafe', 2 ** 60],
    ['string', '0xfee00000'],
    ['null', null],
    ['bigint too large', 1n << 64n],
    ['negative bigint', -1n],
  ])('rejects a %s address with INVALID_ARGUMENT', (_what, address) => {
    expect(() => toMsiMessage(op, address, 0x41)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', operation: op }));
  });

  test.each([[-1], [2 ** 32], [0.5], [NaN], ['1'], [1n]])('rejects data %p', (data) => {
    expect(() => toMsiMessage(op, 0xfee00000, data)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('validateMsi', () => {
  const msg = (addressLo: number, data: number, addressHi = 0) => ({ addressLo, addressHi, data });
  const invalid = (m: ReturnType<typeof msg>, pattern: RegExp, policy?: Parameters<typeof validateMsi>[2]) => {
    const err = thrownBy(() => validateMsi(op, m, policy));
    expect(err).toBeInstanceOf(VirtError);
    expect((err as VirtError).code).toBe('INVALID_MSI');
    expect((err as VirtError).message).toMatch(pattern);
    expect((err as VirtError).message).toMatch(/Nothing was changed/);
  };

  test('accepts the window edges and every non-reserved delivery mode', () => {
    expect(validateMsi(op, msg(0xfee00000, 0x10)).vector).toBe(0x10);
    expect(validateMsi(op, msg(0xfeeff00c, 0xff)).destinationId).toBe(0xff);
    for (const code of [0, 1, 2, 4, 5, 7]) expect(() => validateMsi(op, msg(0xfee00000, (code << 8) | 0x30))).not.toThrow();
    expect(() => validateMsi(op, msg(0xfee00000, 0x402))).not.toThrow(); // NMI ignores the vector
  });

  test('rejects addresses outside the window', () => {
    invalid(msg(0xfedfffff, 0x41), /outside the interrupt window/);
    invalid(msg(0xfef00000, 0x41), /outside the interrupt window/);
    invalid(msg(0, 0x41), /not an MSI address/);
  });

  test('rejects vectors below 16 in fixed and lowest-priority mode', () => {
    invalid(msg(0xfee00000, 0x0f), /reserved for exceptions/);
    invalid(msg(0xfee00000, 0x100), /reserved for exceptions/);
  });

  test('rejects reserved delivery modes, reserved data bits, address bits 1:0, remappable, extended ID', () => {
    invalid(msg(0xfee00000, 0x341), /delivery mode 3 is reserved/);
    invalid(msg(0xfee00000, 0x641), /delivery mode 6 is reserved/);
    invalid(msg(0xfee00000, 0x10041), /reserved data bits/);
    invalid(msg(0xfee00000, 0x0841), /reserved data bits/);
    invalid(msg(0xfee00001, 0x41), /bits 1:0/);
    invalid(msg(0xfee00010, 0x41), /remappable/);
    invalid(msg(0xfee00020, 0x41), /extended destination/);
  });

  describe('extended destination ID (APIC ID bits 14:8 in address bits 11:5)', () => {
    const x2: MsiPolicy = { addressHi: 'x2apic-ids', backend: 'kvm', extendedDestinationId: 'translate' };
    test('translated to the upper address: the same destination in the encoding KVM reads', () => {
      // APIC ID 0x3e8 (1000): low byte 0xe8 in bits 19:12, bits 14:8 (0x03) in bits 11:5.
      const lo = (0xfee00000 | (0xe8 << 12) | (0x03 << 5)) >>> 0;
      expect(translateExtendedDestinationId(msg(lo, 0x41))).toEqual(msg((0xfee00000 | (0xe8 << 12)) >>> 0, 0x41, 0x300));
      expect(parseMsi(op, lo, 0x41, x2)).toEqual(msg((0xfee00000 | (0xe8 << 12)) >>> 0, 0x41, 0x300));
      expect(validateMsi(op, msg(lo, 0x41), x2).destinationId).toBe(1000);
      // The highest: 0x7FFF.
      expect(validateMsi(op, msg((0xfee00000 | (0xff << 12) | (0x7f << 5)) >>> 0, 0x41), x2).destinationId).toBe(0x7fff);
      // Nothing to translate: the message as it is.
      expect(translateExtendedDestinationId(msg(0xfee01000, 0x41, 0x100))).toEqual(msg(0xfee01000, 0x41, 0x100));
    });
    test('refused, typed, where the partition does not offer it, and with an upper address too', () => {
      invalid(msg(0xfee00020, 0x41), /does not offer extended destination IDs/, { addressHi: 'x2apic-ids', backend: 'kvm' });
      invalid(msg(0xfee00020, 0x41, 0x100), /both the extended destination ID .* and the upper address/, x2);
      expect(() => validateMsi(op, msg(0xfee00020, 0x41), { addressHi: 'reject', backend: 'kvm', extendedDestinationId: 'translate' })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/needs addressHi 'x2apic-ids'/) }),
      );
    });
  });

  describe('maxApicId: a destination the partition cannot reach names the limit', () => {
    const lim: MsiPolicy = { addressHi: 'x2apic-ids', backend: 'KVM', maxApicId: 4095 };
    test('physical destinations above it are refused; the broadcast ID is not a destination', () => {
      expect(validateMsi(op, msg(0xfee00000 | (0xff << 12), 0x41, 0xf00), lim).destinationId).toBe(4095);
      invalid(msg(0xfee00000, 0x41, 0x1000), /APIC ID 4096 is above 4095, the largest APIC ID KVM can reach on this partition \(maxApicId\)/, lim);
      expect(() => parseMsi(op, 0x1000_fee00000, 0x41, lim)).toThrow(expect.objectContaining({ code: 'INVALID_MSI', message: expect.stringMatching(/4095/) }));
      expect(validateMsi(op, msg(0xfee00000 | (0xff << 12), 0x41, 0xffffff00), lim).destinationId).toBe(0xffffffff);
      invalid(msg(0xfee00000 | (2 << 12), 0x41), /APIC ID 2 is above 1/, { addressHi: 'reject', backend: 'x', maxApicId: 1 });
      // Through the extended destination ID as well: 0x7FFF > 4095.
      invalid(msg((0xfee00000 | (0xff << 12) | (0x7f << 5)) >>> 0, 0x41), /APIC ID 32767 is above 4095/, { ...lim, extendedDestinationId: 'translate' });
    });
    test('x2APIC logical clusters beyond it are refused; clusters within it pass', () => {
      expect(validateMsi(op, msg(0xfee00004 | (0x01 << 12), 0x41, 0xff0000), lim).destinationMode).toBe('logical');
      invalid(msg(0xfee00004 | (0x01 << 12), 0x41, 0x1000000), /logical cluster 256 holds APIC IDs from 4096/, lim);
    });
    test('a malformed limit is INVALID_ARGUMENT', () => {
      expect(() => validateMsi(op, msg(0xfee00000, 0x41), { ...lim, maxApicId: 0xffffffff })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => validateMsi(op, msg(0xfee00000, 0x41), { ...lim, maxApicId: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });
  });

  test('the upper address follows the backend policy', () => {
    invalid(msg(0xfee00000, 0x41, 0x100), /upper address to be 0/, { addressHi: 'reject', backend: 'mshv' });
    expect(validateMsi(op, msg(0xfee00000, 0x41, 0x100), { addressHi: 'x2apic-ids', backend: 'kvm' }).destinationId).toBe(0x100);
    invalid(msg(0xfee00000, 0x41, 0x101), /bits 7:0 must be 0/, { addressHi: 'x2apic-ids', backend: 'kvm' });
  });

  test('a backend can refuse delivery modes it cannot express', () => {
    invalid(msg(0xfee00000, 0x230), /whp cannot deliver smi/, { addressHi: 'reject', backend: 'whp', deliveryModes: ['fixed', 'nmi'] });
  });

  test('parseMsi combines type checks and validation', () => {
    expect(parseMsi(op, 0xfee01000, 0x41)).toEqual({ addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
    expect(() => parseMsi(op, 'x', 0x41)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => parseMsi(op, 0xfee01000, 0x01)).toThrow(expect.objectContaining({ code: 'INVALID_MSI' }));
  });
});

test('describeMsi names the fields and never throws', () => {
  expect(describeMsi({ addressLo: 0xfee01000, addressHi: 0, data: 0x41 })).toBe(
    'address 0xfee01000 data 0x00000041 (fixed, vector 0x41 → physical destination 1, edge)',
  );
  expect(describeMsi({ addressLo: 0x1000, addressHi: 0, data: 0 })).toMatch(/not an MSI address/);
  expect(describeMsi({ addressLo: 0xfee00000, addressHi: 2, data: 0x341 })).toMatch(/0x00000002_fee00000.*reserved mode 3/);
});
