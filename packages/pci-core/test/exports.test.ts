/**
 * Every export of the package, called with what a user can get wrong: each failure a user can
 * cause is a typed VirtError (INVALID_ARGUMENT naming the argument) thrown before anything changes,
 * never a raw TypeError and never a number made up from a coerced argument; and the emulators'
 * guest-facing methods take anything without throwing.
 */
import { type Partition, type VirtError, isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import * as pciCore from '../src';
import { IrqFdMsixRoute, MsiEmulator, MsixEmulator, joinAddress, msiCapabilitySize, partitionInjector, pbaSizeFor, tableSizeFor } from '../src';
import { StubRoute } from './support/stub-route';

/** What a caller can pass by mistake: every type, and numbers that are not integers or out of every range. */
const HOSTILE: readonly unknown[] = [undefined, null, 'x', '8', true, -1, NaN, Infinity, 1.5, 2 ** 53, 10n, -1n, 2n ** 64n, Symbol('s'), {}, [], () => 1];

/** What was thrown, for a failure message (an Error's name and message; anything else described). */
const thrownText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : show(e));

const show = (v: unknown): string => (typeof v === 'symbol' ? 'a symbol' : typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

/** The INVALID_ARGUMENT `fn` throws, or a failure saying what it did instead. */
function invalidArgument(fn: () => unknown): VirtError {
  const e = thrownBy(fn);
  if (!isVirtError(e, 'INVALID_ARGUMENT')) throw new Error(`expected INVALID_ARGUMENT, got ${e === undefined ? 'a return' : thrownText(e)}`);
  return e;
}

describe('every exported function, constructor and static method', () => {
  const callables: [string, (...a: unknown[]) => unknown][] = [];
  for (const [name, value] of Object.entries(pciCore)) {
    if (typeof value !== 'function') continue;
    const f = value as (...a: unknown[]) => unknown;
    if (/^class\b/.test(Function.prototype.toString.call(f))) {
      callables.push([`new ${name}`, (...a) => new (f as unknown as new (...b: unknown[]) => unknown)(...a)]);
      for (const s of Object.getOwnPropertyNames(f)) {
        const m = (f as unknown as Record<string, unknown>)[s];
        if (typeof m === 'function' && s !== 'prototype') callables.push([`${name}.${s}`, (...a) => (m as (...b: unknown[]) => unknown).apply(f, a)]);
      }
    } else {
      callables.push([name, f]);
    }
  }

  it('finds the exports it checks', () => {
    expect(callables.map(([n]) => n)).toEqual(
      expect.arrayContaining(['tableSizeFor', 'pbaSizeFor', 'joinAddress', 'msiCapabilitySize', 'checkLayout', 'partitionInjector', 'new MsixEmulator', 'new IrqFdMsixRoute']),
    );
  });

  it.each(callables)('%s: with any wrong argument in any place, returns or throws a VirtError, never another error', (_name, call) => {
    const untyped: string[] = [];
    for (const a of HOSTILE) {
      for (const args of [[a], [a, 0], [0, a], [a, a], [a, 0, 0], [0, 0, a]]) {
        const e = thrownBy(() => call(...args));
        if (e !== undefined && !isVirtError(e)) untyped.push(`(${args.map(show).join(', ')}): ${thrownText(e)}`);
      }
    }
    expect(untyped).toEqual([]);
  });
});

describe('the size helpers', () => {
  it.each([
    ['tableSizeFor', tableSizeFor],
    ['pbaSizeFor', pbaSizeFor],
  ] as const)('%s refuses every vectors value that is not an integer from 1 to 2048, naming it', (name, size) => {
    for (const v of [...HOSTILE, 0, 2049, -0.5]) {
      const e = invalidArgument(() => size(v as number));
      expect([show(v), e.operation, e.detail]).toEqual([show(v), name, expect.stringMatching(/^vectors must be an integer from 1 to 2048, got /)]);
    }
  });

  it('sizes every vector count from 1 to 2048 (16 bytes a vector; the PBA in whole QWORDs)', () => {
    for (let n = 1; n <= 2048; n++) expect([n, tableSizeFor(n), pbaSizeFor(n)]).toEqual([n, n * 16, Math.ceil(n / 64) * 8]);
  });

  it('msiCapabilitySize refuses flags that are not booleans, naming the flag', () => {
    for (const v of HOSTILE.filter((x) => typeof x !== 'boolean').concat([0, 1, 'false'])) {
      expect(invalidArgument(() => msiCapabilitySize(v as boolean, false)).detail).toMatch(/^address64 \(64-bit Address Capable\) must be a boolean, got /);
      expect(invalidArgument(() => msiCapabilitySize(true, v as boolean)).detail).toMatch(/^perVectorMasking \(Per-Vector Masking Capable\) must be a boolean, got /);
    }
  });
});

/** Values that are not a DWORD: not an integer 0-0xFFFFFFFF or a negative int32, as a number or a bigint. */
const NOT_DWORDS: readonly unknown[] = [undefined, null, 'x', '1', true, NaN, Infinity, 1.5, 2 ** 32, 2 ** 53, -(2 ** 31) - 1, -1n, 2n ** 32n, Symbol('s'), {}, [], () => 1];

describe('joinAddress', () => {
  it('refuses a half that is not a DWORD, naming it (nothing coerced: "x" is not 0, 1.5 is not 1)', () => {
    for (const v of NOT_DWORDS) {
      expect([show(v), invalidArgument(() => joinAddress(v as number, 0)).detail]).toEqual([show(v), expect.stringMatching(/^addressLo must be a DWORD: .*, got /)]);
      expect([show(v), invalidArgument(() => joinAddress(0xfee00000, v as number)).detail]).toEqual([show(v), expect.stringMatching(/^addressHi must be a DWORD: .*, got /)]);
    }
  });

  it('takes each half as a number, a negative int32 (the same bits) or a bigint, as write32 does', () => {
    expect(joinAddress(0xfee01000n as unknown as number, 0x100n as unknown as number)).toBe(0x100_fee01000);
    expect(joinAddress(-1, -1)).toBe(0xffff_ffff_ffff_ffffn);
    expect(joinAddress(0x8000_0000 | 0, 0)).toBe(0x8000_0000);
  });
});

describe('the adapters refuse a wrong DWORD before calling the route or the partition', () => {
  it.each([0, 1, 2])('IrqFdMsixRoute.setMsi, argument %i', (at) => {
    const names = ['addressLo', 'addressHi', 'data'];
    for (const v of NOT_DWORDS) {
      const stub = new StubRoute();
      const args: unknown[] = [0xfee01000, 0, 0x41];
      args[at] = v;
      const e = invalidArgument(() => new IrqFdMsixRoute(stub).setMsi(...(args as [number, number, number])));
      expect([show(v), e.operation, e.detail]).toEqual([show(v), 'IrqFdMsixRoute.setMsi', expect.stringMatching(new RegExp(`^${names[at]} must be a DWORD`))]);
      expect(stub.log).toEqual([]);
    }
    const stub = new StubRoute();
    new IrqFdMsixRoute(stub).setMsi(0xfee01000n as unknown as number, 0x100, 0x41n as unknown as number);
    expect(stub.log).toEqual([['setMsi', 0x100_fee01000, 0x41]]);
  });

  it.each([0, 1, 2])("partitionInjector's injector, argument %i", (at) => {
    const names = ['addressLo', 'addressHi', 'data'];
    const requested: unknown[][] = [];
    const partition = { requestMsi: (address: number | bigint, data: number) => void requested.push([address, data]) } as unknown as Partition;
    const inject = partitionInjector(partition);
    for (const v of NOT_DWORDS) {
      const args: unknown[] = [0xfee01000, 0, 0x41];
      args[at] = v;
      const e = invalidArgument(() => inject(...(args as [number, number, number])));
      expect([show(v), e.operation, e.detail]).toEqual([show(v), 'partitionInjector', expect.stringMatching(new RegExp(`^${names[at]} must be a DWORD`))]);
    }
    expect(requested).toEqual([]);
    inject(0xfee01000, 0x100, 0x41);
    expect(requested).toEqual([[0x100_fee01000, 0x41]]);
  });
});

describe("the emulators' guest-facing methods take any arguments without throwing", () => {
  const GUEST_FACING = {
    msix: ['region', 'claims', 'read32', 'write32', 'read64', 'write64', 'write64Halves', 'read', 'write', 'configRead', 'configWrite', 'signal'],
    msi: ['configRead', 'configWrite', 'signal'],
  } as const;
  const emulators = {
    msix: () => new MsixEmulator({ vectors: 3, table: { bir: 2, offset: 0x100 }, pba: { bir: 2, offset: 0x40 } }),
    msi: () => new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true }),
  };
  it.each(['msix', 'msi'] as const)('%s', (kind) => {
    const thrown: string[] = [];
    for (const method of GUEST_FACING[kind]) {
      const emu = emulators[kind]() as unknown as Record<string, (...a: unknown[]) => unknown>;
      for (const a of [...HOSTILE, 0, 0x100, 0x40, 4]) {
        for (const args of [[a, a, a, a], [2, a, a, a], [2, 0x100, a, a], [a, 0x100, 4, 0], [2, 0x40, a, 0]]) {
          const e = thrownBy(() => emu[method]!(...args));
          if (e !== undefined) thrown.push(`${method}(${args.map(show).join(', ')}): ${thrownText(e)}`);
        }
      }
    }
    expect(thrown).toEqual([]);
  });

  it('claims nothing for a length or offset that is not a number (as read/write of it do nothing)', () => {
    const emu = emulators.msix();
    for (const v of [10n, Symbol('s'), '4', null, undefined, {}]) {
      expect([show(v), emu.claims(2, 0x100, v as number), emu.claims(2, v as number, 4)]).toEqual([show(v), false, false]);
    }
    expect(emu.claims(2, 0x100, 4)).toBe(true);
  });
});
