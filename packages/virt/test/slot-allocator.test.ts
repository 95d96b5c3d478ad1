import { VirtError } from '../src';
import { SlotAllocator } from '../src/implement';

test('hands out the lowest free number, within the range', () => {
  const a = new SlotAllocator(24, 100);
  expect([a.allocate('t'), a.allocate('t'), a.allocate('t')]).toEqual([24, 25, 26]);
  a.release(25);
  expect(a.allocate('t')).toBe(25);
  expect(a.size).toBe(3);
  expect(a.isAllocated(26)).toBe(true);
  expect(a.isAllocated(27)).toBe(false);
  expect(a.isAllocated(23)).toBe(false);
});

test('exhaustion is a typed EXHAUSTED error, and it recovers after a release', () => {
  const a = new SlotAllocator(0, 70);
  for (let i = 0; i < 70; i++) expect(a.allocate('t')).toBe(i);
  expect(a.tryAllocate()).toBeUndefined();
  expect(() => a.allocate('IrqFd.newIrqFdRoute', 'GSIs')).toThrow(expect.objectContaining({ code: 'EXHAUSTED', operation: 'IrqFd.newIrqFdRoute' }));
  a.release(33);
  expect(a.allocate('t')).toBe(33);
});

test('refuses double free and numbers out of range', () => {
  const a = new SlotAllocator(10, 5);
  const n = a.allocate('t');
  a.release(n);
  expect(() => a.release(n)).toThrow(VirtError);
  expect(() => a.release(9)).toThrow(/not an allocated number/);
  expect(() => a.release(15)).toThrow(/double free/);
  expect(() => a.release(10.5)).toThrow(VirtError);
  expect(a.size).toBe(0);
});

test('matches a reference model under random allocate/release sequences', () => {
  const cap = 4072;
  const a = new SlotAllocator(24, cap);
  const used = new Set<number>();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let step = 0; step < 20000; step++) {
    if (used.size > 0 && rnd() < 0.45) {
      const pick = [...used][Math.floor(rnd() * used.size)]!;
      a.release(pick);
      used.delete(pick);
    } else {
      let lowest = 24;
      while (used.has(lowest)) lowest++;
      const got = a.tryAllocate();
      if (lowest >= 24 + cap) expect(got).toBeUndefined();
      else {
        expect(got).toBe(lowest);
        used.add(lowest);
      }
    }
    expect(a.size).toBe(used.size);
  }
});

test('rejects a bad range', () => {
  expect(() => new SlotAllocator(-1, 4)).toThrow(VirtError);
  expect(() => new SlotAllocator(0, 0)).toThrow(VirtError);
});
