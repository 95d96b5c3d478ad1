/**
 * The shared IOAPIC model on its own: what a guest write, a source, KVM_SET_IRQCHIP and an EOI do
 * to a level pin, as arch/x86/kvm/ioapic.c does it.
 */
import { ApicBus, IoApicModel } from '../src/testing';
import type { IoApicRedirection } from '../src';

const LEVEL: IoApicRedirection = { vector: 0x61, deliveryMode: 'fixed', destinationMode: 'physical', destination: 1, trigger: 'level', masked: false };

function setup(resampler: boolean) {
  const bus = new ApicBus({ apicIds: [0, 1] });
  const log: string[] = [];
  const io = new IoApicModel(bus, {
    acked: (pin) => void log.push(`acked ${pin}`),
    notifyResampler: (pin) => {
      log.push(`notify ${pin}`);
      return resampler;
    },
  });
  return { bus, io, log };
}

test('a level pin delivers once until its EOI, sets remote IRR, and delivers again after the EOI while still asserted', () => {
  const { bus, io, log } = setup(true);
  io.writeRedirection(3, LEVEL);
  expect(io.setIrq(3, 1, true)).toBe(1);
  expect(bus.apics[1]!.state().irr).toEqual([0x61]);
  expect(bus.apics[1]!.tmrVectors()).toEqual([0x61]);
  expect(io.pin(3)).toMatchObject({ remoteIrr: true, asserted: true });
  expect(io.setIrq(3, 1, true)).toBe(-1); // waiting for the EOI
  expect(io.guestEoi(bus.apics[1]!, 0x61)).toBe(true);
  expect(log).toEqual(['acked 3']);
  // Still asserted (the hook did not deassert): delivered again.
  expect(bus.apics[1]!.state().irr).toEqual([0x61]);
  expect(io.delivered[3]).toBe(2);
  expect(io.guestEoi(bus.apics[0]!, 0x61)).toBe(false);
});

test('unmasking a level pin with a latched request: a resampler takes it (request dropped), else it is delivered', () => {
  for (const resampler of [true, false]) {
    const { bus, io, log } = setup(resampler);
    io.writeRedirection(3, { ...LEVEL, masked: true });
    io.setIrq(3, 1, true);
    expect(bus.apics[1]!.state().irr).toEqual([]);
    io.writeRedirection(3, LEVEL);
    expect(log).toEqual(['notify 3']);
    expect(bus.apics[1]!.state().irr).toEqual(resampler ? [] : [0x61]);
    expect(io.pin(3).asserted).toBe(!resampler);
  }
});

test('KVM_SET_IRQCHIP (setState) takes the registers as given and raises every pin whose request bit is set', () => {
  const { bus, io, log } = setup(true);
  io.writeRedirection(3, { ...LEVEL, masked: true });
  io.setIrq(3, 1, true);
  const s = io.getState();
  expect(s.irr).toBe(1 << 3);
  const lo = [...s.lo];
  lo[3] = lo[3]! & ~(1 << 16);
  io.setState({ ...s, lo });
  expect(log).toEqual([]);
  expect(bus.apics[1]!.state().irr).toEqual([0x61]);
  expect(io.pin(3).remoteIrr).toBe(true);
});

test('an entry switched to edge drops remote IRR; the line is the OR of its sources; bad input is INVALID_ARGUMENT', () => {
  const { io } = setup(true);
  io.writeRedirection(5, LEVEL);
  io.setIrq(5, 0, true);
  io.setIrq(5, 1, true);
  io.setIrq(5, 0, false);
  expect(io.pin(5)).toMatchObject({ asserted: true, remoteIrr: true });
  io.writeRedirection(5, { ...LEVEL, trigger: 'edge' });
  expect(io.pin(5).remoteIrr).toBe(false);
  io.setIrq(5, 1, false);
  expect(io.pin(5).asserted).toBe(false);
  expect(() => io.writeRedirection(24, LEVEL)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => io.writeRedirection(5, { ...LEVEL, vector: 15 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => io.setIrq(0, 32, true)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});
