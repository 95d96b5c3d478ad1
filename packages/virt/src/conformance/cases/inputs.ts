/** Bad inputs are rejected with a typed error before any side effect. */
import { check, checkEqual, checkThrows } from '../check';
import { type ConformanceCase, V } from './context';

export const inputsCases: readonly ConformanceCase[] = [
  {
    name: 'bad inputs are rejected with a typed error before any side effect',
    async run({ subject, irqfd, route, msiFor, expectDeliveries }) {
      // Three routes in the three states a rejected call must not disturb: armed, masked with a
      // latched signal, and without an MSI with a latched signal.
      const r = route(0, V[0]!, true);
      const masked = route(1, V[2]!, false);
      const bare = irqfd.newIrqFdRoute();
      masked.event.signal();
      bare.event.signal();
      await expectDeliveries([], 'signals on the masked route and the route without MSI');
      const good = r.msi;
      const maskedMsi = masked.msi;
      const commits = irqfd.commitCount;
      const ok = msiFor(1, V[1]!);
      const bad: Array<[unknown, unknown, 'INVALID_ARGUMENT' | 'INVALID_MSI', string]> = [
        [0xfed00000, ok.data, 'INVALID_MSI', 'address below the window'],
        [0xfef00000, ok.data, 'INVALID_MSI', 'address above the window'],
        [0, ok.data, 'INVALID_MSI', 'address 0'],
        [ok.address, 0x0f, 'INVALID_MSI', 'fixed vector 15'],
        [ok.address, 0x00, 'INVALID_MSI', 'fixed vector 0'],
        [ok.address, 0x0300 | 0x41, 'INVALID_MSI', 'reserved delivery mode 3'],
        [ok.address, 0x10041, 'INVALID_MSI', 'reserved data bits'],
        [ok.address + 2, ok.data, 'INVALID_MSI', 'address bits 1:0 set'],
        [ok.address, 0x1_0000_0000, 'INVALID_ARGUMENT', 'data above 32 bits'],
        [ok.address, -1, 'INVALID_ARGUMENT', 'negative data'],
        [ok.address, 65.5, 'INVALID_ARGUMENT', 'fractional data'],
        [ok.address, Number.NaN, 'INVALID_ARGUMENT', 'NaN data'],
        [ok.address, Number.POSITIVE_INFINITY, 'INVALID_ARGUMENT', 'infinite data'],
        [ok.address, '65', 'INVALID_ARGUMENT', 'string data'],
        [ok.address, BigInt(ok.data), 'INVALID_ARGUMENT', 'bigint data'],
        [ok.address, true, 'INVALID_ARGUMENT', 'boolean data'],
        [ok.address, undefined, 'INVALID_ARGUMENT', 'missing data'],
        [-1, ok.data, 'INVALID_ARGUMENT', 'negative address'],
        [ok.address + 0.5, ok.data, 'INVALID_ARGUMENT', 'fractional address'],
        [Number.NaN, ok.data, 'INVALID_ARGUMENT', 'NaN address'],
        [2 ** 64, ok.data, 'INVALID_ARGUMENT', 'address number above 2^53'],
        [-1n, ok.data, 'INVALID_ARGUMENT', 'negative bigint address'],
        [1n << 64n, ok.data, 'INVALID_ARGUMENT', 'bigint address above 64 bits'],
        [String(ok.address), ok.data, 'INVALID_ARGUMENT', 'string address'],
        [undefined, ok.data, 'INVALID_ARGUMENT', 'undefined address'],
        [null, ok.data, 'INVALID_ARGUMENT', 'null address'],
        [{}, ok.data, 'INVALID_ARGUMENT', 'object address'],
      ];
      for (const [address, data, code, what] of bad) {
        checkThrows(() => r.setMsi(address as number, data as number), code, `setMsi on an armed route: ${what}`);
        checkThrows(() => masked.setMsi(address as number, data as number), code, `setMsi on a masked route: ${what}`);
        checkThrows(() => bare.setMsi(address as number, data as number), code, `setMsi on a route without MSI: ${what}`);
        checkThrows(() => subject.partition.requestMsi(address as number, data as number), code, `requestMsi: ${what}`);
      }
      checkEqual([r.msi, r.masked], [good, false], 'the armed route (msi, masked) after rejected setMsi calls');
      checkEqual([masked.msi, masked.masked], [maskedMsi, true], 'the masked route (msi, masked) after rejected setMsi calls');
      checkEqual([bare.msi, bare.masked], [undefined, true], 'the route without MSI (msi, masked) after rejected setMsi calls');
      checkEqual(irqfd.commitCount, commits, 'commits issued by rejected calls');
      await expectDeliveries([], 'rejected setMsi and requestMsi calls');
      r.event.signal();
      await expectDeliveries([[0, V[0]!]], 'the armed route still delivers to its old target');
      check(masked.consumePending(), 'the masked route still holds its latched signal');
      const m = msiFor(0, V[3]!);
      bare.setMsi(m.address, m.data);
      bare.unmask();
      await expectDeliveries([[0, V[3]!]], 'the route without MSI still holds its latched signal, delivered once armed');
    },
  },
];
