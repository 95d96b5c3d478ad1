// The models' device-side helpers and the bridge refuse what they cannot act on with a typed
// INVALID_ARGUMENT before anything is signalled or kept, as the rest of the project does: a test
// that names a device the model lacks learns which, instead of a RangeError or a later TypeError.
import { EFAULT } from '@tsvmm/linux-sys';
import { modelStruct } from '@tsvmm/linux-sys/testing';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { thrownBy } from '@tsvmm/virt/testing';
import { vfioAbi as abi, vfioCalls as calls } from '../src';
import { VfioKernelModel, VfioModelBridge } from '../src/testing';
import { eventfd, modelEnv, openLegacy, take } from './support/targets';

const { VFIO_PCI_MSIX_IRQ_INDEX: MSIX } = abi.VFIO_PCI_IRQ;

const refusal = (fn: () => unknown): { code?: string; operation?: string } => {
  const e = thrownBy(fn) as { code?: string; operation?: string } | undefined;
  return { code: e?.code, operation: e?.operation };
};

describe('the VFIO model: raiseMsix, raiseMsi and assertIntx', () => {
  it('refuse a device the model lacks and a vector the device lacks with INVALID_ARGUMENT, signalling nothing', () => {
    const env = modelEnv({ devices: [{ address: '0000:01:00.0', group: 7, msixVectors: 8, msiVectors: 4 }] });
    const m = env.model;
    const o = openLegacy(env);
    const e = eventfd(env);
    expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { eventfds: [e] })).toBe(0);
    const bad: [() => unknown, string][] = [
      [() => m.raiseMsix(0, '0000:09:00.0'), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsix(0, 5 as never), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsix(8), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsix(-1), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsix('0' as never), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsix(0.5), 'VfioKernelModel.raiseMsix'],
      [() => m.raiseMsi(4), 'VfioKernelModel.raiseMsi'],
      [() => m.raiseMsi(0, '0000:09:00.0'), 'VfioKernelModel.raiseMsi'],
      [() => m.assertIntx('0000:09:00.0'), 'VfioKernelModel.assertIntx'],
      [() => m.deassertIntx('0000:09:00.0'), 'VfioKernelModel.deassertIntx'],
      [() => m.device('0000:09:00.0'), 'VfioKernelModel.device'],
    ];
    for (const [call, operation] of bad) expect(refusal(call)).toEqual({ code: 'INVALID_ARGUMENT', operation });
    expect(take(env, e)).toBe(0n);
    // The same device and vector in range do signal: the refusals above were the arguments' doing.
    expect(m.raiseMsix(0, '0000:01:00.0')).toBe('signalled');
    expect(take(env, e)).toBe(1n);
    expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
    m.close(e);
    o.close();
    expect(m.hazards).toEqual([]);
  });
});

describe('VfioModelBridge', () => {
  it('refuses models it cannot bridge at construction, with INVALID_ARGUMENT', () => {
    const vfio = new VfioKernelModel();
    const kvm = new KvmKernelModel();
    const op = 'new VfioModelBridge';
    for (const [v, k] of [
      [null, null],
      [null, kvm],
      [{}, kvm],
      [vfio, null],
      [vfio, {}],
      [vfio, { files: {}, write: () => 0, read: () => 0 }],
      [vfio, { files: { get: () => undefined }, write: () => 0 }],
      [vfio, { files: { get: () => undefined }, write: () => 0, read: () => 0, flushWork: 1 }],
    ] as const) {
      expect({ v: typeof v, k: typeof k, ...refusal(() => new VfioModelBridge(v as never, k as never)) }).toEqual({ v: typeof v, k: typeof k, code: 'INVALID_ARGUMENT', operation: op });
    }
    expect(new VfioModelBridge(vfio, kvm).vfio).toBe(vfio);
  });
});

describe('modelStruct, the struct table every kernel model reads ioctl arguments through', () => {
  it('reads each field little-endian at its offset (i32 signed, u64 as a bigint), over the caller\'s own bytes', () => {
    const s = modelStruct(16, { a: [0, 'u8'], b: [2, 'u16'], fd: [4, 'i32'], n: [4, 'u32'], big: [8, 'u64'] });
    const bytes = new Uint8Array(24);
    bytes.set([0x7f, 0, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 0x80]);
    const r = s.read(bytes);
    if (typeof r === 'number') throw new Error(`read answered ${r}`);
    expect({ a: r.a, b: r.b, fd: r.fd, n: r.n, big: r.big }).toEqual({ a: 0x7f, b: 0x1234, fd: -1, n: 0xffff_ffff, big: 0x8007060504030201n });
    r.view.setUint8(20, 9); // copy_to_user lands in the caller's buffer, past the fixed part too
    expect(bytes[20]).toBe(9);
    expect(s.size).toBe(16);
  });

  it('answers -EFAULT where copy_from_user faults: no buffer, or fewer bytes than the struct', () => {
    const s = modelStruct(8, { x: [4, 'u32'] });
    for (const arg of [undefined, 0, 0x1000, new Uint8Array(7)]) expect(s.read(arg)).toBe(-EFAULT);
    expect(typeof s.read(new Uint8Array(8))).toBe('object');
  });

  it('refuses a field outside the struct or named view when the table is made (RangeError)', () => {
    expect(() => modelStruct(8, { x: [6, 'u32'] })).toThrow(RangeError);
    expect(() => modelStruct(8, { x: [-1, 'u8'] })).toThrow(RangeError);
    expect(() => modelStruct(8, { x: [0.5, 'u8'] })).toThrow(RangeError);
    expect(() => modelStruct(8, { view: [0, 'u8'] })).toThrow(RangeError);
    expect(() => modelStruct(8, { x: [0, 'u64'] })).not.toThrow();
  });
});
