import { APIC_SOFTWARE_ENABLE, HV_LOCAL_APIC_PAGE, XAPIC_REGISTER_PAGE, clearApicIrr, readApicPage, softwareEnableApic } from '../src/implement';

// Vectors 0x41 and 0xFE written by hand at each format's offsets (not through the reader).
function xapicPage(): Uint8Array {
  const page = new Uint8Array(0x400);
  const v = new DataView(page.buffer);
  v.setUint32(0x20, 3 << 24, true); // ID register: APIC ID 3 in bits 31:24
  v.setUint32(0x200 + 2 * 16, 1 << 1, true); // IRR word 2 (vectors 64-95) at a 16-byte stride: 0x41
  v.setUint32(0x200 + 7 * 16, 1 << 30, true); // 0xFE
  v.setUint32(0x100 + 1 * 16, 1 << 0, true); // ISR: 0x20
  return page;
}

function hvPage(): Uint8Array {
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  v.setUint32(0, 3, true); // apic_id @0
  v.setUint32(84 + 2 * 4, 1 << 1, true); // irr[2] at a 4-byte stride: 0x41
  v.setUint32(84 + 7 * 4, 1 << 30, true); // 0xFE
  v.setUint32(20 + 1 * 4, 1 << 0, true); // isr[1]: 0x20
  v.setUint32(16, 0x1ff, true); // spurious: enabled
  return page;
}

test('the xAPIC page: IRR at 0x200 with a 16-byte stride, APIC ID in bits 31:24 of 0x20', () => {
  expect(readApicPage(XAPIC_REGISTER_PAGE, xapicPage())).toEqual({ apicId: 3, irr: [0x41, 0xfe], isr: [0x20], softwareEnabled: false });
});

test("the hypervisor's format: IRR at 84 with a 4-byte stride, apic_id @0, spurious @16", () => {
  expect(readApicPage(HV_LOCAL_APIC_PAGE, hvPage())).toEqual({ apicId: 3, irr: [0x41, 0xfe], isr: [0x20], softwareEnabled: true });
});

test('reading one format with the other gives different vectors (the format matters)', () => {
  expect(readApicPage(XAPIC_REGISTER_PAGE, hvPage()).irr).not.toEqual([0x41, 0xfe]);
});

test('clearApicIrr clears exactly the IRR words of the format', () => {
  const page = hvPage();
  clearApicIrr(HV_LOCAL_APIC_PAGE, page);
  const s = readApicPage(HV_LOCAL_APIC_PAGE, page);
  expect(s.irr).toEqual([]);
  expect(s.isr).toEqual([0x20]);
  const x = xapicPage();
  clearApicIrr(XAPIC_REGISTER_PAGE, x);
  expect(readApicPage(XAPIC_REGISTER_PAGE, x)).toMatchObject({ irr: [], isr: [0x20] });
});

test('softwareEnableApic writes 0x1FF into the spurious register of the format', () => {
  const page = new Uint8Array(176);
  softwareEnableApic(HV_LOCAL_APIC_PAGE, page);
  expect(new DataView(page.buffer).getUint32(16, true)).toBe(0x1ff);
  expect(APIC_SOFTWARE_ENABLE).toBe(0x100);
  const x = new Uint8Array(0x400);
  softwareEnableApic(XAPIC_REGISTER_PAGE, x);
  expect(new DataView(x.buffer).getUint32(0xf0, true)).toBe(0x1ff);
});

test('a page shorter than the format is a typed INVALID_ARGUMENT, not a misread', () => {
  expect(() => readApicPage(HV_LOCAL_APIC_PAGE, new Uint8Array(100))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => readApicPage(XAPIC_REGISTER_PAGE, new Uint8Array(176))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});

test('a subarray page is read from its own offset', () => {
  const big = new Uint8Array(8192);
  big.set(hvPage().subarray(0, 176), 4096);
  expect(readApicPage(HV_LOCAL_APIC_PAGE, big.subarray(4096)).irr).toEqual([0x41, 0xfe]);
});
