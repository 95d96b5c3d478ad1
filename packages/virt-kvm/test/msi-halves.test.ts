/**
 * `EngineRoute.setMsiHalves` (the implementor-side `MsiHalvesRoute` of `@tsvmm/virt/implement`)
 * is `setMsi` with the address as its 32-bit halves: for every message, the same result (the
 * route's MSI, the kernel's routing entry) or the same typed error (the same message for a refused
 * MSI; an argument error names the argument given), and a refused call leaves the route as it was.
 */
import { type MsiMessage, isVirtError } from '@tsvmm/virt';
import type { KvmIrqFd, KvmIrqFdRoute } from '../src';
import { describeOnTargets } from './support/targets';

const TWO_32 = 0x1_0000_0000;

/** [addressLo, addressHi, data] words: accepted, or refused by the MSI rules. */
const MESSAGES: ReadonlyArray<readonly [number, number, number]> = [
  [0xfee01000, 0, 0x45],
  [0xfee00000, 0, 0x8031],
  [0xfee01004, 0, 0x100 | 0x40],
  [0xfec00000, 0, 0x45], // outside the interrupt window
  [0xfee01000, 1, 0x45], // an upper address on a partition without x2APIC
  [0xfee01000, 0, 0x5], // vector below 16
  [0xfee01000, 0, 0x1_0045], // reserved data bits
];

/** Halves that are not 32-bit words: INVALID_ARGUMENT, as `setMsi` refuses an address or data that is not one. */
const NOT_WORDS: ReadonlyArray<readonly [unknown, unknown, unknown]> = [
  [-1, 0, 0x45],
  [TWO_32, 0, 0x45],
  [0xfee01000, 1.5, 0x45],
  [0xfee01000, 0, -1],
  ['0xfee01000', 0, 0x45],
];

/** What one call did: the typed error's code and message, or the route's MSI and the kernel's entry for its GSI. */
function outcome(irqfd: KvmIrqFd, route: KvmIrqFdRoute, call: () => void): unknown {
  const before = { msi: route.msi, masked: route.masked, gsi: route.gsi };
  try {
    call();
  } catch (e) {
    expect({ msi: route.msi, masked: route.masked, gsi: route.gsi }).toEqual(before);
    // An argument error names the argument the caller gave (address, or addressLo/addressHi), so only its code can agree.
    if (isVirtError(e, 'INVALID_ARGUMENT')) return { code: e.code, operation: e.operation };
    return isVirtError(e) ? { code: e.code, message: e.message } : { thrown: String(e) };
  }
  const kernel: MsiMessage | undefined = route.gsi === undefined ? undefined : irqfd.table.kernelMsi(route.gsi);
  return { msi: route.msi, kernel, masked: route.masked };
}

describeOnTargets('EngineRoute.setMsiHalves', (target) => {
  test('has the effect and the errors of setMsi with the joined address, for accepted and refused messages alike', () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const byHalves = irqfd.newIrqFdRoute();
    const byAddress = irqfd.newIrqFdRoute();
    byHalves.unmask();
    byAddress.unmask();
    let accepted = 0;
    for (const [lo, hi, data] of MESSAGES) {
      const a = outcome(irqfd, byHalves, () => byHalves.setMsiHalves(lo, hi, data));
      const b = outcome(irqfd, byAddress, () => byAddress.setMsi(lo + hi * TWO_32, data));
      expect({ case: [lo, hi, data], outcome: a }).toEqual({ case: [lo, hi, data], outcome: b });
      if ((a as { msi?: unknown }).msi !== undefined) {
        accepted++;
        expect((a as { kernel: unknown }).kernel).toEqual({ addressLo: lo, addressHi: hi, data });
      }
    }
    expect(accepted).toBe(3);
    for (const [lo, hi, data] of NOT_WORDS) {
      const a = outcome(irqfd, byHalves, () => byHalves.setMsiHalves(lo as number, hi as number, data as number));
      expect({ case: [lo, hi, data], outcome: a }).toEqual({ case: [lo, hi, data], outcome: { code: 'INVALID_ARGUMENT', operation: 'IrqFdRoute.setMsi' } });
    }
    byHalves.dispose();
    byAddress.dispose();
  });
});
