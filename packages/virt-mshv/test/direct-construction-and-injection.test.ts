/**
 * The constructor of MshvPartition is internal (only `create` validates options and opens the
 * partition), and the injected `sys` and `memory` must be whole interfaces: all refused with
 * INVALID_ARGUMENT before any system call.
 */
import type { Syscalls } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { isVirtError } from '@tsvmm/virt';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition, type UserMemory } from '../src';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('new MshvPartition()', () => {
  const Ctor = MshvPartition as unknown as new (...args: unknown[]) => MshvPartition;

  test('without arguments: INVALID_ARGUMENT naming MshvPartition.create()', () => {
    const e = thrown(() => new Ctor());
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('the MshvPartition constructor is internal');
    expect((e as Error).message).toContain('MshvPartition.create()');
  });

  test('create still makes one', () => {
    const model = new MshvKernelModel();
    using p = MshvPartition.create({ vcpus: 2, sys: model, memory: model });
    expect(p).toBeInstanceOf(MshvPartition);
  });
});

describe('MshvPartition.create({ sys, memory })', () => {
  test('sys: {} and a sys with only ioctl are INVALID_ARGUMENT naming what is missing', () => {
    const model = new MshvKernelModel();
    const e = thrown(() => MshvPartition.create({ vcpus: 1, sys: {} as Syscalls, memory: model }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('open (undefined)');
    const onlyIoctl = { ioctl: () => 0 } as unknown as Syscalls;
    const f = thrown(() => MshvPartition.create({ vcpus: 1, sys: onlyIoctl, memory: model }));
    expect(isVirtError(f, 'INVALID_ARGUMENT')).toBe(true);
    expect((f as Error).message).toContain('close (undefined)');
  });

  test('a sys missing one call is refused before any system call', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const partial = new Proxy(sys, { get: (t, k, r) => (k === 'epollWait' ? undefined : (Reflect.get(t, k, r) as unknown)) });
    const e = thrown(() => MshvPartition.create({ vcpus: 1, sys: partial, memory: model }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('epollWait (undefined)');
    expect(sys.log).toEqual([]);
  });

  test('a memory without free is refused before any system call', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const memory = { allocate: (size: number, align: number) => model.allocate(size, align) } as unknown as UserMemory;
    const e = thrown(() => MshvPartition.create({ vcpus: 1, sys, memory }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('memory must have the function free (undefined)');
    expect(sys.log).toEqual([]);
  });
});
