// The models' device-side helpers and the bridge refuse what they cannot act on with a typed
// INVALID_ARGUMENT before anything is signalled or kept, as the rest of the project does: a test
// that names a device the model lacks learns which, instead of a RangeError or a later TypeError.
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
