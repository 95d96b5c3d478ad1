import { isVirtError } from '../../src';
import { LocalApicModel, thrownBy } from '../../src/testing';

/** Every field of `apic` but its APIC ID: what copyStateFrom must carry over, whatever fields the class grows. */
function stateOf(apic: LocalApicModel): Record<string, unknown> {
  const { apicId: _apicId, ...rest } = apic;
  return rest;
}

test('copyStateFrom takes every field but the APIC ID, as copies that change independently afterwards', () => {
  const from = new LocalApicModel(3);
  from.acceptVector(0x41, true);
  from.acceptVector(0x41, true);
  from.acceptVector(0xfe, false);
  from.isr[1] = 0x8000_0000;
  from.nmi = 1;
  from.smi = 2;
  from.init = 3;
  from.extint = 4;
  from.softwareEnabled = false;
  const to = new LocalApicModel(7);
  to.acceptVector(0x30, false);
  to.copyStateFrom(from);
  expect(to.apicId).toBe(7);
  expect(stateOf(to)).toEqual(stateOf(from));
  expect(to.state()).toEqual({ ...from.state(), apicId: 7 });
  expect(to.tmrVectors()).toEqual([0x41]);
  from.softwareEnabled = true;
  from.acceptVector(0x50, false);
  from.isr.fill(0);
  expect([to.state().irr, to.state().isr, to.accepted]).toEqual([[0x41, 0xfe], [0x3f], 3]);
});

test('copyStateFrom of anything but a LocalApicModel is INVALID_ARGUMENT, the APIC unchanged', () => {
  const to = new LocalApicModel(0);
  to.acceptVector(0x41, false);
  for (const bad of [undefined, null, {}, { irr: new Uint32Array(8) }]) {
    const e = thrownBy(() => to.copyStateFrom(bad as never));
    expect([bad, isVirtError(e) && e.code]).toEqual([bad, 'INVALID_ARGUMENT']);
  }
  expect([to.state().irr, to.accepted]).toEqual([[0x41], 1]);
});
