// Every call of vfioCalls, and every export a user can call, refuses arguments of the wrong type
// with a typed INVALID_ARGUMENT naming the argument, before any system call: never a TypeError
// from inside, never a call made with garbage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVirtError } from '@tsvmm/virt';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import * as vfio from '../src';
import * as vfioTesting from '../src/testing';
import { type VfioSyscalls, vfioCalls as calls } from '../src';
import { describeOnTargets } from './support/targets';

/** `sys` with every method call counted. */
function spy(sys: VfioSyscalls): { sys: VfioSyscalls; calls: string[] } {
  const made: string[] = [];
  const proxy = new Proxy(sys, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        made.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { sys: proxy, calls: made };
}

type Kind = 'sys' | 'fd' | 'u32' | 'u64' | 'offset' | 'bytes' | 'mapping' | 'action' | 'data' | 'name';

const BAD: Record<Kind, readonly unknown[]> = {
  sys: [undefined, null, 'x', 1, {}, [], { ioctl: 1, pread: 1, pwrite: 1 }, Symbol('s'), () => 1],
  fd: [undefined, null, 'x', 1.5, NaN, Infinity, 2 ** 31, 2 ** 53, 10n, {}, Symbol('s')],
  u32: [undefined, null, 'x', -1, 1.5, NaN, 2 ** 32, 10n, {}, Symbol('s')],
  u64: [undefined, null, 'x', -1, 1.5, NaN, 2 ** 53, -1n, 1n << 64n, {}, Symbol('s')],
  offset: [undefined, null, 'x', -1, 1.5, NaN, 2 ** 53, 10n, {}],
  bytes: [undefined, null, 'x', [1, 2], {}, new Uint16Array(2), new ArrayBuffer(4)],
  mapping: [undefined, null, 'x', 5, {}, { vaddr: 0n, iova: 0n }, { vaddr: 'x', iova: 0n, size: 4096n }, { vaddr: 0n, iova: -1n, size: 4096n }, { vaddr: 0n, iova: 0n, size: 1.5 }],
  action: [undefined, null, 'x', 'Trigger', 1, {}],
  data: [
    undefined,
    null,
    'x',
    {},
    { none: -1 },
    { none: 'x' },
    { none: 0, bools: [] },
    { bools: 'x' },
    { bools: [1] },
    { eventfds: ['3'] },
    { eventfds: [1.5] },
    { eventfds: [2 ** 31] },
    { eventfds: [null] },
  ],
  name: [undefined, null, 1, {}, Symbol('s')],
};

/** Each call with valid arguments (fd 3 and a zero of each kind), and the kind and name of each argument. */
const CALLS: readonly [string, (...a: never[]) => unknown, readonly [Kind, string, unknown][]][] = [
  ['getApiVersion', calls.getApiVersion, [['fd', 'containerFd', 3]]],
  ['checkExtension', calls.checkExtension, [['fd', 'containerFd', 3], ['u32', 'extension', 3]]],
  ['setIommu', calls.setIommu, [['fd', 'containerFd', 3], ['u32', 'type', 3]]],
  ['iommuGetInfo', calls.iommuGetInfo, [['fd', 'containerFd', 3]]],
  ['mapDma', calls.mapDma, [['fd', 'containerFd', 3], ['mapping', 'm', { vaddr: 0n, iova: 0n, size: 4096n }], ['u32', 'flags', 3]]],
  ['unmapDma', calls.unmapDma, [['fd', 'containerFd', 3], ['u64', 'iova', 0n], ['u64', 'size', 4096n], ['u32', 'flags', 0]]],
  ['groupGetStatus', calls.groupGetStatus, [['fd', 'groupFd', 3]]],
  ['groupSetContainer', calls.groupSetContainer, [['fd', 'groupFd', 3], ['fd', 'containerFd', 4]]],
  ['groupUnsetContainer', calls.groupUnsetContainer, [['fd', 'groupFd', 3]]],
  ['groupGetDeviceFd', calls.groupGetDeviceFd, [['fd', 'groupFd', 3], ['name', 'name', '0000:01:00.0']]],
  ['deviceGetInfo', calls.deviceGetInfo, [['fd', 'deviceFd', 3]]],
  ['deviceGetRegionInfo', calls.deviceGetRegionInfo, [['fd', 'deviceFd', 3], ['u32', 'index', 7]]],
  ['deviceGetIrqInfo', calls.deviceGetIrqInfo, [['fd', 'deviceFd', 3], ['u32', 'index', 2]]],
  ['setIrqs', calls.setIrqs, [['fd', 'deviceFd', 3], ['u32', 'index', 2], ['action', 'action', 'trigger'], ['u32', 'start', 0], ['data', 'data', { eventfds: [-1] }]]],
  ['deviceReset', calls.deviceReset, [['fd', 'deviceFd', 3]]],
  ['regionRead', calls.regionRead, [['fd', 'deviceFd', 3], ['offset', 'regionOffset', 0], ['offset', 'offset', 0], ['bytes', 'buf', new Uint8Array(4)]]],
  ['regionWrite', calls.regionWrite, [['fd', 'deviceFd', 3], ['offset', 'regionOffset', 0], ['offset', 'offset', 0], ['bytes', 'buf', new Uint8Array(4)]]],
  ['bindIommufd', calls.bindIommufd, [['fd', 'deviceFd', 3], ['fd', 'iommufd', 4]]],
  ['attachIommufdPt', calls.attachIommufdPt, [['fd', 'deviceFd', 3], ['u32', 'ptId', 1]]],
  ['detachIommufdPt', calls.detachIommufdPt, [['fd', 'deviceFd', 3]]],
  ['ioasAlloc', calls.ioasAlloc, [['fd', 'iommufd', 3]]],
  ['iommuDestroy', calls.iommuDestroy, [['fd', 'iommufd', 3], ['u32', 'id', 1]]],
  ['ioasMap', calls.ioasMap, [['fd', 'iommufd', 3], ['u32', 'ioasId', 1], ['mapping', 'm', { vaddr: 0n, iova: 0n, size: 4096n }]]],
  ['ioasUnmap', calls.ioasUnmap, [['fd', 'iommufd', 3], ['u32', 'ioasId', 1], ['u64', 'iova', 0n], ['u64', 'length', 4096n]]],
];

const label = (v: unknown): string => {
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'function') return 'a function';
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
};

describeOnTargets('vfioCalls: arguments of the wrong type', (target) => {
  it('each call refuses each wrong argument with INVALID_ARGUMENT naming it, before any system call', () => {
    const env = target.create();
    const s = spy(env.sys);
    let checked = 0;
    for (const [name, fn, args] of CALLS) {
      const call = fn as (...a: unknown[]) => unknown;
      const slots: [Kind, string, unknown][] = [['sys', 'sys', s.sys], ...args];
      slots.forEach(([kind, argName], i) => {
        // An optional argument (flags) left undefined takes its default: that is no wrong type.
        for (const bad of BAD[kind].filter((b) => !(argName === 'flags' && b === undefined))) {
          const values = slots.map((x, j) => (j === i ? bad : x[2]));
          const e = virtErrorThrownBy(() => call(...values));
          const what = `${name} ${argName}=${label(bad)}`;
          expect({ what, code: e.code, operation: e.operation, names: e.detail.startsWith(argName) || e.detail.includes(` ${argName}`) || e.detail.includes(`${argName}[`) }).toEqual({ what, code: 'INVALID_ARGUMENT', operation: `vfioCalls.${name}`, names: true });
          checked++;
        }
      });
    }
    expect(s.calls).toEqual([]);
    expect(checked).toBeGreaterThan(400);
  });

  it('the same calls with arguments of the right type reach the kernel, which answers', () => {
    const env = target.create();
    const s = spy(env.sys);
    for (const [name, fn, args] of CALLS) {
      const before = s.calls.length;
      const r = (fn as (...a: unknown[]) => unknown)(s.sys, ...args.map((a) => a[2]));
      // fd 3 is no VFIO fd here: the kernel's answer is an errno (or a result), never a throw.
      expect({ name, answered: typeof r === 'number' || typeof r === 'bigint' || typeof r === 'object', called: s.calls.length > before }).toEqual({ name, answered: true, called: true });
    }
  });
});

describe('vfioCalls: the pure helpers', () => {
  it('encodeIrqSet and capabilityChain refuse wrong types with INVALID_ARGUMENT naming the argument', () => {
    const cases: [() => unknown, string, string][] = [
      [() => calls.encodeIrqSet(2, 'trigger', 0, undefined as never), 'vfioCalls.encodeIrqSet', 'data'],
      [() => calls.encodeIrqSet(2, 'bogus' as never, 0, { none: 0 }), 'vfioCalls.encodeIrqSet', 'action'],
      [() => calls.encodeIrqSet(-1, 'trigger', 0, { none: 0 }), 'vfioCalls.encodeIrqSet', 'index'],
      [() => calls.encodeIrqSet(2, 'trigger', 0, { eventfds: [0.5] }), 'vfioCalls.encodeIrqSet', 'data.eventfds[0]'],
      [() => calls.capabilityChain(null as never, 0), 'vfioCalls.capabilityChain', 'buf'],
      [() => calls.capabilityChain(new Uint8Array(8), -1), 'vfioCalls.capabilityChain', 'capOffset'],
    ];
    for (const [fn, operation, arg] of cases) {
      const e = virtErrorThrownBy(fn);
      expect({ arg, code: e.code, operation: e.operation, names: e.detail.startsWith(arg) }).toEqual({ arg, code: 'INVALID_ARGUMENT', operation, names: true });
    }
    expect(calls.encodeIrqSet(2, 'trigger', 0, { eventfds: [5, -1] }).length).toBe(28);
    expect(calls.capabilityChain(new Uint8Array(8), 0)).toEqual([]);
  });
});

describe('every export of @tsvmm/vfio and @tsvmm/vfio/testing', () => {
  const BAD_ANY: readonly unknown[] = [undefined, null, 'x', -1, NaN, {}, [], 1.5, 2 ** 53, 10n, () => 1, Symbol('s')];

  it('the internal constructors refuse to be called: VfioDevice.open() and AssignedPciDevice.create() are the ways in', () => {
    for (const [cls, factory] of [
      [vfio.VfioDevice, 'VfioDevice.open()'],
      [vfio.AssignedPciDevice, 'AssignedPciDevice.create()'],
    ] as const) {
      const e = virtErrorThrownBy(() => new (cls as unknown as new (...a: unknown[]) => unknown)(undefined, 0, '0000:01:00.0'));
      expect({ code: e.code, operation: e.operation, hint: e.hint }).toEqual({ code: 'INVALID_ARGUMENT', operation: `new ${cls.name}()`, hint: `Use ${factory} to make a ${cls.name}.` });
    }
  });

  it('called with wrong types (any one or two arguments), every function, constructor and static method throws only typed VirtErrors', () => {
    const untyped: string[] = [];
    let tried = 0;
    for (const [modName, mod] of [
      ['@tsvmm/vfio', vfio],
      ['@tsvmm/vfio/testing', vfioTesting],
    ] as const) {
      for (const [name, f] of Object.entries(mod as Record<string, unknown>)) {
        const targets: [string, (...a: unknown[]) => unknown][] = [];
        if (typeof f === 'function') {
          const isClass = /^class\b/.test(Function.prototype.toString.call(f));
          if (!isClass) targets.push([`${modName}.${name}`, (...a) => (f as (...x: unknown[]) => unknown)(...a)]);
          else {
            targets.push([`new ${modName}.${name}`, (...a) => new (f as new (...x: unknown[]) => unknown)(...a)]);
            for (const st of Object.getOwnPropertyNames(f)) {
              const m = (f as unknown as Record<string, unknown>)[st];
              if (typeof m === 'function' && !['length', 'name', 'prototype'].includes(st)) targets.push([`${modName}.${name}.${st}`, (...a) => (m as (...x: unknown[]) => unknown).apply(f, a)]);
            }
          }
        } else if (typeof f === 'object' && f !== null) {
          for (const [k, g] of Object.entries(f)) if (typeof g === 'function') targets.push([`${modName}.${name}.${k}`, (...a) => (g as (...x: unknown[]) => unknown).apply(f, a)]);
        }
        for (const [what, call] of targets) {
          for (const a of BAD_ANY) {
            for (const b of [undefined, a]) {
              tried++;
              let made: unknown;
              try {
                made = call(a, b);
              } catch (e) {
                if (!isVirtError(e)) untyped.push(`${what}(${label(a)}, ${label(b)}): ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
              }
              if (typeof made === 'object' && made !== null && typeof (made as { dispose?: unknown }).dispose === 'function') (made as { dispose(): void }).dispose();
            }
          }
        }
      }
    }
    expect(untyped).toEqual([]);
    expect(tried).toBeGreaterThan(800);
  });
});

describe('the VFIO model and the bridge: their own methods with wrong types', () => {
  it('writeSysfs, open and ioctl refuse wrong types with INVALID_ARGUMENT naming the argument; a filesystem refusal is a typed SYSCALL', () => {
    const model = new vfioTesting.VfioKernelModel();
    const bridge = new vfioTesting.VfioModelBridge(model, new KvmKernelModel());
    const cases: [() => unknown, string, string][] = [
      [() => model.writeSysfs(undefined as never), 'VfioKernelModel.writeSysfs', 'root'],
      [() => model.writeSysfs(Symbol('s') as never), 'VfioKernelModel.writeSysfs', 'root'],
      [() => model.writeSysfs('/tmp/x', 'x' as never), 'VfioKernelModel.writeSysfs', 'others'],
      [() => model.writeSysfs('/tmp/x', [{ address: 5 }] as never), 'VfioKernelModel.writeSysfs', 'others[0].address'],
      [() => model.writeSysfs('/tmp/x', [{ address: '0000:02:00.0', group: -1 }]), 'VfioKernelModel.writeSysfs', 'others[0].group'],
      [() => model.writeSysfs('/tmp/x', [{ address: '0000:02:00.0', driver: '../x' }]), 'VfioKernelModel.writeSysfs', 'others[0].driver'],
      [() => model.open(Symbol('s') as never, 2), 'VfioKernelModel.open', 'path'],
      [() => model.ioctl(3, undefined as never), 'VfioKernelModel.ioctl', 'request'],
      [() => model.ioctl(3, { name: 'X' } as never), 'VfioKernelModel.ioctl', 'request'],
      [() => bridge.ioctl(3, null as never), 'VfioModelBridge.ioctl', 'request'],
    ];
    for (const [fn, operation, arg] of cases) {
      const e = virtErrorThrownBy(fn);
      expect({ arg, code: e.code, operation: e.operation, names: e.detail.startsWith(arg) }).toEqual({ arg, code: 'INVALID_ARGUMENT', operation, names: true });
    }
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-sysfs-twice-'));
    try {
      model.writeSysfs(dir);
      const e = virtErrorThrownBy(() => model.writeSysfs(dir));
      expect({ code: e.code, operation: e.operation, errnoName: e.errnoName }).toEqual({ code: 'SYSCALL', operation: 'VfioKernelModel.writeSysfs', errnoName: 'EEXIST' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(model.openFds).toBe(0);
  });
});
