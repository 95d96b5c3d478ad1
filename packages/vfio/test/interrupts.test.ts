// GET_IRQ_INFO and SET_IRQS (docs/interfaces/vfio.md, "Interrupts"): validation errnos, MSI-X, MSI and INTx bindings, the
// kernel loopback (DATA_NONE / DATA_BOOL + TRIGGER) on every target, and the device-side hooks of
// the model, which signal exactly the eventfd vfio-pci's handler would; and INTx bound by hand to the
// KVM model partition's level route, with the guest played through its IOAPIC and local APIC.
import { newLevelRoute } from '@tsvmm/virt';
import { EBADF, EBUSY, EFAULT, EINVAL, ENOSPC, ENOTTY } from '@tsvmm/linux-sys';
import { vfioAbi as abi, vfioCalls as calls, vfioSyscalls } from '../src';
import { describeAssignedTargets } from './support/assigned-targets';
import { modelOnly } from './support/model-only';
import { describeOnTargets, eventfd, modelEnv, ok, type Opened, openLegacy, readConfig, take, type VfioEnv, writeConfig } from './support/targets';

/** \`it\` on the model; on a real device the test shows as skipped (it needs the model's device side or state), never as passed. */
const DEVICE_SIDE = 'the device side is played by the model (raising a vector, asserting INTx, an Enable that does not stick); real hardware raises only when it decides to';

/** ERANGE (x86_64 asm-generic/errno-base.h), not among linux-sys's errno names. */
const ERANGE = 34;

/** The IOAPIC pin's GSI of the level-route body. */
const GSI = 9;
const { VFIO_PCI_INTX_IRQ_INDEX: INTX, VFIO_PCI_MSI_IRQ_INDEX: MSI, VFIO_PCI_MSIX_IRQ_INDEX: MSIX } = abi.VFIO_PCI_IRQ;

function irqInfo(env: VfioEnv, device: number, index: number): calls.IrqInfo {
  const r = calls.deviceGetIrqInfo(env.sys, device, index);
  if (typeof r === 'number') throw new Error(`VFIO_DEVICE_GET_IRQ_INFO(${index}) failed with errno ${-r}`);
  return r;
}

/** A raw vfio_irq_set, to send what the encoder never would. */
function rawIrqSet(argsz: number, flags: number, index: number, start: number, count: number, dataBytes = 0): Uint8Array {
  const b = new Uint8Array(20 + dataBytes);
  const v = new DataView(b.buffer);
  v.setUint32(0, argsz, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, index, true);
  v.setUint32(12, start, true);
  v.setUint32(16, count, true);
  return b;
}

/**
 * Runs `body` on the device opened the legacy way, `newEventfd()` making each eventfd it needs. Afterwards,
 * returned early or not, the eventfds and the device are closed; then the model, if any, must have
 * seen no hazard (on a real device there is none to read).
 */
function onDevice(env: VfioEnv, body: (o: Opened, newEventfd: () => number) => void): void {
  const o = openLegacy(env);
  const made: number[] = [];
  try {
    body(o, () => {
      const e = eventfd(env);
      made.push(e);
      return e;
    });
  } finally {
    for (const e of made) env.sys.close(e);
    o.close();
  }
  expect(env.model?.hazards ?? []).toEqual([]);
}

describeOnTargets('GET_IRQ_INFO', (target) => {
  it('INTx maskable and automasked, MSI and MSI-X take eventfds, index 5 is EINVAL', () => {
    const env = target.create();
    using o = openLegacy(env);
    const intx = irqInfo(env, o.device, INTX);
    if (intx.count > 0) expect(intx.flags).toBe(abi.VFIO_IRQ_INFO_EVENTFD | abi.VFIO_IRQ_INFO_MASKABLE | abi.VFIO_IRQ_INFO_AUTOMASKED);
    const msi = irqInfo(env, o.device, MSI);
    expect(msi.flags & (abi.VFIO_IRQ_INFO_EVENTFD | abi.VFIO_IRQ_INFO_NORESIZE)).toBe(abi.VFIO_IRQ_INFO_EVENTFD | abi.VFIO_IRQ_INFO_NORESIZE);
    expect(irqInfo(env, o.device, MSIX).flags & abi.VFIO_IRQ_INFO_EVENTFD).toBe(abi.VFIO_IRQ_INFO_EVENTFD);
    expect(calls.deviceGetIrqInfo(env.sys, o.device, 5)).toBe(-EINVAL);
    if (env.model) {
      expect(intx.count).toBe(1);
      expect(msi.count).toBe(4);
      expect(irqInfo(env, o.device, MSIX)).toEqual({ flags: abi.VFIO_IRQ_INFO_EVENTFD | abi.VFIO_IRQ_INFO_NORESIZE, count: 8 });
    }
  });
});

describeOnTargets('SET_IRQS validation (vfio_set_irqs_validate_and_prepare and the action dispatch)', (target) => {
  it('each malformed call gets the kernel errno and changes nothing', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const set = (arg: Uint8Array) => env.sys.ioctl(o.device, abi.VFIO_DEVICE_SET_IRQS, arg);
      const T = abi.VFIO_IRQ_SET_ACTION_TRIGGER;
      const NONE = abi.VFIO_IRQ_SET_DATA_NONE;
      const EFD = abi.VFIO_IRQ_SET_DATA_EVENTFD;
      const n = irqInfo(env, o.device, MSIX).count;
      const e = newEventfd();
      expect(set(rawIrqSet(19, NONE | T, MSIX, 0, 1))).toBe(-EINVAL); // argsz below 20
      expect(set(rawIrqSet(20, NONE | T, 5, 0, 1))).toBe(-EINVAL); // index out of range
      expect(set(rawIrqSet(20, NONE | T | 0x40, MSIX, 0, 1))).toBe(-EINVAL); // unknown flag
      expect(set(rawIrqSet(20, NONE | abi.VFIO_IRQ_SET_DATA_BOOL | T, MSIX, 0, 1, 1))).toBe(-EINVAL); // two data kinds
      expect(set(rawIrqSet(20, T, MSIX, 0, 1))).toBe(-EINVAL); // no data kind
      expect(set(rawIrqSet(20, NONE | T, MSIX, n, 1))).toBe(-EINVAL); // start beyond the count
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', n - 1, { eventfds: [e, e] })).toBe(-EINVAL); // start + count beyond it
      expect(set(rawIrqSet(20 + 4, EFD | T, MSIX, 0, 2, 8))).toBe(-EINVAL); // argsz too small for two fds
      // argsz covers two fds but the buffer holds one: memdup_user faults. The model's copy_from_user
      // faults on it; a real kernel would read past the buffer, so only the model is asked.
      if (env.model) expect(set(rawIrqSet(20 + 8, EFD | T, MSIX, 0, 2, 4))).toBe(-EFAULT);
      expect(set(rawIrqSet(20, NONE | T | abi.VFIO_IRQ_SET_ACTION_UNMASK, MSIX, 0, 1))).toBe(-ENOTTY); // two actions
      expect(set(rawIrqSet(20, NONE | abi.VFIO_IRQ_SET_ACTION_MASK, MSIX, 0, 1))).toBe(-ENOTTY); // no MSI-X mask in vfio
      expect(set(rawIrqSet(20, NONE | abi.VFIO_IRQ_SET_ACTION_UNMASK, MSI, 0, 1))).toBe(-ENOTTY);
      // Loopback on an index that is not enabled.
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 1 })).toBe(-EINVAL);
      // Enabling with no vector at all: vfio_msi_enable(0) gets pci_alloc_irq_vectors's ERANGE.
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [] })).toBe(-ERANGE);
      expect(calls.setIrqs(env.sys, o.device, MSI, 'trigger', 0, { eventfds: [] })).toBe(-ERANGE);
      // Nothing was enabled by any of them: MSI-X can still be enabled, and then INTx cannot.
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [e] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { eventfds: [e] })).toBe(-EINVAL);
      expect(calls.setIrqs(env.sys, o.device, MSI, 'trigger', 0, { eventfds: [e] })).toBe(-EINVAL);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });
});

describeOnTargets('REQ through its one eventfd (vfio_pci_set_req_trigger, vfio_pci_set_ctx_trigger_single)', (target) => {
  it('the loopback needs an eventfd bound (EINVAL without), DATA_BOOL and DATA_EVENTFD need count 1, DATA_NONE with count 0 and fd -1 unbind', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const REQ = abi.VFIO_PCI_IRQ.VFIO_PCI_REQ_IRQ_INDEX;
      const set = (data: calls.IrqSetData, action: 'trigger' | 'mask' = 'trigger') => calls.setIrqs(env.sys, o.device, REQ, action, 0, data);
      const e = newEventfd();
      expect(irqInfo(env, o.device, REQ).count).toBe(1);
      expect(set({ none: 1 })).toBe(-EINVAL); // nothing bound: DATA_NONE falls through
      expect(set({ none: 0 })).toBe(-EINVAL);
      expect(set({ bools: [] })).toBe(-EINVAL);
      expect(set({ eventfds: [] })).toBe(-EINVAL);
      expect(set({ bools: [true] })).toBe(0); // nothing bound, nothing signalled
      expect(set({ eventfds: [e] })).toBe(0);
      expect(set({ none: 1 })).toBe(0);
      expect(set({ bools: [true] })).toBe(0);
      expect(set({ bools: [false] })).toBe(0);
      expect(take(env, e)).toBe(2n);
      expect(set({ none: 0 })).toBe(0); // unbinds
      expect(set({ none: 1 })).toBe(-EINVAL);
      expect(set({ eventfds: [e] })).toBe(0);
      expect(set({ eventfds: [-2] })).toBe(0); // neither -1 nor an fd: nothing changes
      expect(set({ none: 1 })).toBe(0);
      expect(take(env, e)).toBe(1n);
      expect(set({ eventfds: [-1] })).toBe(0); // unbinds
      expect(set({ none: 1 })).toBe(-EINVAL);
      expect(set({ none: 1 }, 'mask')).toBe(-ENOTTY);
      expect(take(env, e)).toBe(0n);
    });
  });

  it('the last close of the device drops the REQ eventfd (vfio_pci_core_close_device): after reopening, the loopback is EINVAL', () => {
    const env = target.create();
    const REQ = abi.VFIO_PCI_IRQ.VFIO_PCI_REQ_IRQ_INDEX;
    const e = eventfd(env);
    try {
      {
        using o = openLegacy(env);
        expect(calls.setIrqs(env.sys, o.device, REQ, 'trigger', 0, { eventfds: [e] })).toBe(0);
      }
      using o = openLegacy(env);
      expect(calls.setIrqs(env.sys, o.device, REQ, 'trigger', 0, { none: 1 })).toBe(-EINVAL);
      expect(take(env, e)).toBe(0n);
    } finally {
      env.sys.close(e);
    }
  });
});

describeOnTargets('MSI-X through eventfds', (target) => {
  it('enable with one eventfd per vector; the loopback signals each bound eventfd once; DATA_BOOL only the chosen; disable', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const fds = [newEventfd(), newEventfd(), newEventfd()];
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: fds })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 3 })).toBe(0);
      expect(fds.map((fd) => take(env, fd))).toEqual([1n, 1n, 1n]);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { bools: [false, true, false] })).toBe(0);
      expect(fds.map((fd) => take(env, fd))).toEqual([0n, 1n, 0n]);
      // Rebind vector 1 to vector 0's eventfd's neighbour, unbind vector 2 (-1).
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 1, { eventfds: [fds[0]!, -1] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 3 })).toBe(0);
      expect(fds.map((fd) => take(env, fd))).toEqual([2n, 0n, 0n]);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 1 })).toBe(-EINVAL);
    });
  });

  it('with NORESIZE, binding a vector beyond the enabled block is EINVAL and unbinds every vector of that call', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const info = irqInfo(env, o.device, MSIX);
      const a = newEventfd();
      const b = newEventfd();
      if (!(info.flags & abi.VFIO_IRQ_INFO_NORESIZE) || info.count < 3) return; // dynamic MSI-X, or too few vectors to show it
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [a, -1] })).toBe(0); // two vectors allocated
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 1, { eventfds: [b, b] })).toBe(-EINVAL); // vector 2 was never allocated
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 2 })).toBe(0);
      expect([take(env, a), take(env, b)]).toEqual([1n, 0n]); // vector 1's binding went with the failed call
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });

  modelOnly(target, DEVICE_SIDE)('the device raising a vector signals exactly that vector\'s eventfd, nothing once unbound or disabled [model: device side]', () => {
    const env = modelEnv(); // model only: a real device raises its vectors by itself, not on request
    const m = env.model;
    onDevice(env, (o, newEventfd) => {
      const fds = [newEventfd(), newEventfd()];
      expect(m.raiseMsix(0)).toBe('not-enabled');
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [fds[0]!, -1, fds[1]!] })).toBe(0);
      expect(Array.from(readConfig(env, o.device, 0x53, 1))[0]! & 0x80).toBe(0x80); // the host enabled MSI-X in the device
      expect(m.raiseMsix(2)).toBe('signalled');
      expect(m.raiseMsix(1)).toBe('no-eventfd');
      expect(m.raiseMsix(3)).toBe('not-enabled');
      expect(fds.map((fd) => take(env, fd))).toEqual([0n, 1n]);
      expect(m.isTrigger(fds[0]!, 'msix', 0)).toBe(true);
      // Closing the number keeps the eventfd context vfio holds: the signal still lands (nobody reads it).
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
      expect(m.raiseMsix(0)).toBe('not-enabled');
      expect(fds.map((fd) => take(env, fd))).toEqual([0n, 0n]);
    });
  });
});

describe('MSI-X on the model: dynamic vectors and the host-vector shortfall', () => {
  it('without NORESIZE a vector beyond the block is allocated on demand', () => {
    const env = modelEnv({ devices: [{ address: '0000:01:00.0', group: 7, dynamicMsix: true }] });
    const m = env.model;
    onDevice(env, (o, newEventfd) => {
      const e = newEventfd();
      expect(irqInfo(env, o.device, MSIX).flags & abi.VFIO_IRQ_INFO_NORESIZE).toBe(0);
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { eventfds: [-1] })).toBe(0); // MSI-X on, no live vector
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 5, { eventfds: [e] })).toBe(0);
      expect(m.raiseMsix(5)).toBe('signalled');
      expect(take(env, e)).toBe(1n);
      // vfio_msi_set_vector_signal allocates the vector before it looks the eventfd up: a bad fd
      // fails the call and leaves the vector allocated, with nothing bound, until MSI-X is disabled.
      expect(m.raiseMsix(6)).toBe('not-enabled');
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 6, { eventfds: [999] })).toBe(-EBADF);
      expect(m.raiseMsix(6)).toBe('no-eventfd');
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
      expect(m.raiseMsix(6)).toBe('not-enabled');
    });
  });

  it('no host vector at all: SET_IRQS answers an errno (ENOSPC), never 0, and enables nothing', () => {
    const env = modelEnv({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 0 }] });
    const m = env.model;
    onDevice(env, (o, newEventfd) => {
      const e = newEventfd();
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { eventfds: [e] })).toBe(-ENOSPC);
      expect(calls.setIrqs(m, o.device, MSI, 'trigger', 0, { eventfds: [e] })).toBe(-ENOSPC);
      expect(m.device().irq.mode).toBe('none');
    });
  });

  it('fewer host vectors than asked: SET_IRQS returns that count and enables nothing', () => {
    const env = modelEnv({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 2 }] });
    const m = env.model;
    onDevice(env, (o, newEventfd) => {
      const e = newEventfd();
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { eventfds: [e, e, e, e] })).toBe(2);
      expect(m.device().irq.mode).toBe('none');
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { eventfds: [e, e] })).toBe(0);
      expect(calls.setIrqs(m, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });
});

describeOnTargets('plain MSI', (target) => {
  it('a 4-vector block: each vector\'s eventfd is signalled on its own; Multiple Message Capable reads the enabled block', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const info = irqInfo(env, o.device, MSI);
      const n = Math.min(4, info.count);
      const fds = Array.from({ length: n }, () => newEventfd());
      expect(calls.setIrqs(env.sys, o.device, MSI, 'trigger', 0, { eventfds: fds })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, MSI, 'trigger', 0, { bools: fds.map((_, i) => i === n - 1) })).toBe(0);
      expect(fds.map((fd) => take(env, fd))).toEqual(fds.map((_, i) => (i === n - 1 ? 1n : 0n)));
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [fds[0]!] })).toBe(-EINVAL); // one mode at a time
      if (env.model) {
        const control = readConfig(env, o.device, 0x42, 1)[0]!;
        expect((control >> 1) & 7).toBe(Math.log2(n));
        expect(env.model.raiseMsi(1)).toBe('signalled');
        expect(take(env, fds[1]!)).toBe(1n);
        // The guest's Enable write sticks now that SET_IRQS enabled MSI.
        writeConfig(env, o.device, 0x42, new Uint8Array([control | 1]));
        expect(readConfig(env, o.device, 0x42, 1)[0]! & 1).toBe(1);
      }
      expect(calls.setIrqs(env.sys, o.device, MSI, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });

  it('Message Control\'s low byte is vfio\'s virtual copy (vfio_msi_config_read/write): 64-bit Address Capable starts as the device has it and reads back as written', () => {
    const env = target.create();
    using o = openLegacy(env);
    let cap = readConfig(env, o.device, 0x34, 1)[0]! & 0xfc;
    for (let n = 0; cap !== 0 && n < 48 && readConfig(env, o.device, cap, 1)[0] !== 0x05; n++) cap = readConfig(env, o.device, cap + 1, 1)[0]! & 0xfc;
    if (cap === 0) {
      expect(target.real).toBe(true); // the model device has an MSI capability
      return;
    }
    const control = readConfig(env, o.device, cap + 2, 1)[0]!;
    if (env.model) expect(control & 0x80).toBe(0x80); // the model device's MSI is 64-bit
    // Bit 7 flipped, Enable and MME 0 (nothing for vfio to change), the capable bits as read.
    const flipped = (control ^ 0x80) & ~0x71;
    writeConfig(env, o.device, cap + 2, new Uint8Array([flipped]));
    expect(readConfig(env, o.device, cap + 2, 1)[0]).toBe(flipped);
    writeConfig(env, o.device, cap + 2, new Uint8Array([control & ~0x71]));
    expect(readConfig(env, o.device, cap + 2, 1)[0]).toBe(control & ~0x71);
    if (env.model) expect(env.model.device(env.address).config[cap + 2]! & 0x80).toBe(0x80); // the device's own bit never changed
  });

  modelOnly(target, DEVICE_SIDE)('[model] an Enable written before SET_IRQS enabled MSI does not stick', () => {
    const env = modelEnv(); // model only: a real device's answer is the same, but writing Enable on it may fire a stray MSI
    using o = openLegacy(env);
    const control = readConfig(env, o.device, 0x42, 1)[0]!;
    writeConfig(env, o.device, 0x42, new Uint8Array([control | 1]));
    expect(readConfig(env, o.device, 0x42, 1)[0]! & 1).toBe(0);
  });
});

describeOnTargets('INTx, level-triggered and automasked', (target) => {
  it('enable, loopback, mask and unmask actions; a second unmask eventfd is EBUSY; INTx MASK with an eventfd is ENOTTY', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      if (irqInfo(env, o.device, INTX).count === 0) return; // no INTx on this device (Interrupt Pin 0)
      const trigger = newEventfd();
      const resample = newEventfd();
      const other = newEventfd();
      expect(calls.setIrqs(env.sys, o.device, INTX, 'mask', 0, { none: 1 })).toBe(-EINVAL); // INTx not enabled yet
      expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { eventfds: [trigger] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { none: 1 })).toBe(0);
      expect(take(env, trigger)).toBe(1n);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'mask', 0, { eventfds: [other] })).toBe(-ENOTTY);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'mask', 0, { none: 1 })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [resample] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [other] })).toBe(-EBUSY);
      // vfio_virqfd_enable looks the fd up before it finds the one already registered.
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [999] })).toBe(-EBADF);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [o.container] })).toBe(-EINVAL);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [-1] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [other] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [-1] })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { none: 0 })).toBe(0);
      expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { none: 0 })).toBe(-EINVAL); // nothing left to disable
    });
  });

  modelOnly(target, DEVICE_SIDE)('[model: device side] assert → masked and signalled once; the resample eventfd unmasks, re-signalling while still asserted', () => {
    const env = modelEnv(); // model only: the device decides when it asserts INTx
    const m = env.model;
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    onDevice(env, (o, newEventfd) => {
      const trigger = newEventfd();
      const resample = newEventfd();
      expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { eventfds: [trigger] })).toBe(0);
      expect(calls.setIrqs(m, o.device, INTX, 'unmask', 0, { eventfds: [resample] })).toBe(0);
      expect(m.assertIntx()).toBe('signalled');
      expect(readConfig(env, o.device, 6, 1)[0]! & 0x08).toBe(0x08); // Status: Interrupt Status
      expect(m.assertIntx()).toBe('masked'); // automasked: nothing more until an unmask
      expect(take(env, trigger)).toBe(1n);
      // The guest's EOI: KVM signals the resample eventfd; the device still asserts, so vfio signals again.
      expect(m.write(resample, one, 8)).toBe(8);
      expect(m.eventfdCount(resample)).toBe(0n); // the virqfd consumed it
      expect(take(env, trigger)).toBe(1n);
      m.deassertIntx();
      expect(m.write(resample, one, 8)).toBe(8);
      expect(take(env, trigger)).toBe(0n);
      expect(m.device().irq.intxMasked).toBe(false);
      // Command INTx Disable (virtual) keeps vfio from delivering; clearing it delivers what is pending.
      const cmd = readConfig(env, o.device, 5, 1)[0]!;
      writeConfig(env, o.device, 5, new Uint8Array([cmd | 0x04]));
      expect(m.assertIntx()).toBe('masked');
      expect(take(env, trigger)).toBe(0n);
      writeConfig(env, o.device, 5, new Uint8Array([cmd & ~0x04]));
      expect(take(env, trigger)).toBe(1n);
      m.deassertIntx();
      expect(calls.setIrqs(m, o.device, INTX, 'unmask', 0, { eventfds: [-1] })).toBe(0);
      expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });

  modelOnly(target, DEVICE_SIDE)('[model] INTx Disable set and cleared unmasks an automasked line once the device stopped asserting; nothing is signalled while it is set', () => {
    const env = modelEnv(); // model only: the device decides when it asserts INTx
    const m = env.model;
    onDevice(env, (o, newEventfd) => {
      const trigger = newEventfd();
      expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { eventfds: [trigger] })).toBe(0);
      expect(m.assertIntx()).toBe('signalled');
      expect(take(env, trigger)).toBe(1n);
      m.deassertIntx();
      const cmd = readConfig(env, o.device, 5, 1)[0]!;
      writeConfig(env, o.device, 5, new Uint8Array([cmd | 0x04]));
      // vfio_send_intx_eventfd signals nothing while virq_disabled: the loopback too.
      expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { none: 1 })).toBe(0);
      expect(take(env, trigger)).toBe(0n);
      // Clearing INTx Disable runs vfio_pci_intx_unmask: nothing pending, so the line is unmasked.
      writeConfig(env, o.device, 5, new Uint8Array([cmd & ~0x04]));
      expect(m.device().irq.intxMasked).toBe(false);
      expect(m.assertIntx()).toBe('signalled');
      expect(take(env, trigger)).toBe(1n);
      expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });

  modelOnly(target, DEVICE_SIDE)('[model] an unmask eventfd already signalled at set-up unmasks at once', () => {
    const env = modelEnv(); // model only: needs the automasked state the device side creates
    const m = env.model;
    const o = openLegacy(env);
    const trigger = eventfd(env);
    const resample = ok(m.eventfd(1, 0), 'eventfd(1)');
    expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { eventfds: [trigger] })).toBe(0);
    expect(m.assertIntx()).toBe('signalled');
    m.deassertIntx();
    expect(m.device().irq.intxMasked).toBe(true);
    expect(calls.setIrqs(m, o.device, INTX, 'unmask', 0, { eventfds: [resample] })).toBe(0);
    expect(m.device().irq.intxMasked).toBe(false);
    // vfio_virqfd_enable runs the unmask on a counter already set but does not read it (virqfd.c).
    expect(m.eventfdCount(resample)).toBe(1n);
    expect(calls.setIrqs(m, o.device, INTX, 'unmask', 0, { eventfds: [-1] })).toBe(0);
    expect(calls.setIrqs(m, o.device, INTX, 'trigger', 0, { none: 0 })).toBe(0);
    m.close(trigger);
    m.close(resample);
    o.close();
    expect(m.hazards).toEqual([]);
  });
});

describeOnTargets('VFIO_DEVICE_RESET', (target) => {
  it('keeps vfio\'s interrupt bindings and the config space around the reset', () => {
    const env = target.create();
    onDevice(env, (o, newEventfd) => {
      const e = newEventfd();
      const info = calls.deviceGetInfo(env.sys, o.device);
      if (typeof info === 'number' || !(info.flags & abi.VFIO_DEVICE_FLAGS_RESET)) {
        expect(calls.deviceReset(env.sys, o.device)).toBe(-EINVAL);
        return;
      }
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { eventfds: [e] })).toBe(0);
      const before = readConfig(env, o.device, 0, 64);
      expect(calls.deviceReset(env.sys, o.device)).toBe(0);
      expect(Array.from(readConfig(env, o.device, 0, 64))).toEqual(Array.from(before));
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 1 })).toBe(0);
      expect(take(env, e)).toBe(1n);
      expect(calls.setIrqs(env.sys, o.device, MSIX, 'trigger', 0, { none: 0 })).toBe(0);
    });
  });
});

describe('VFIO_DEVICE_RESET without a reset method [model]', () => {
  it('is EINVAL, and VFIO_DEVICE_FLAGS_RESET is clear', () => {
    const env = modelEnv({ devices: [{ address: '0000:01:00.0', group: 7, resetWorks: false }] });
    const m = env.model;
    const o = openLegacy(env);
    const info = calls.deviceGetInfo(m, o.device);
    expect(typeof info === 'number' ? info : info.flags & abi.VFIO_DEVICE_FLAGS_RESET).toBe(0);
    expect(calls.deviceReset(m, o.device)).toBe(-EINVAL);
    o.close();
  });
});

describeAssignedTargets('INTx through the partition level route, at the SET_IRQS level', (target) => {
  it('the route event as trigger and its resample as the unmask eventfd: one level interrupt per assertion, re-raised at the EOI while asserted, none after', () => {
    using env = target.create();
    const sys = env.model?.bridge ?? vfioSyscalls();
    const fd = env.device.deviceFd;
    const route = newLevelRoute(env.vm.irqfd()!, GSI);
    const g = env.intx.guest(GSI);
    try {
      expect(calls.setIrqs(sys, fd, INTX, 'trigger', 0, { eventfds: [route.event.fd!] })).toBe(0);
      expect(calls.setIrqs(sys, fd, INTX, 'mask', 0, { none: 1 })).toBe(0);
      expect(calls.setIrqs(sys, fd, INTX, 'unmask', 0, { eventfds: [route.resample.fd!] })).toBe(0);
      expect(calls.setIrqs(sys, fd, INTX, 'unmask', 0, { none: 1 })).toBe(0);
      expect(g.remoteIrr).toBe(false);
      env.intx.assert();
      // KVM asserts a resample irqfd's GSI from a workqueue (contract/level.ts): a bounded poll on the real kernel.
      for (let i = 0; i < 1000 && !g.remoteIrr; i++) g.pin();
      expect(g.remoteIrr).toBe(true);
      expect(g.delivered).toBe(true);
      if (!g.canEoi) {
        process.stderr.write(`SKIPPED the EOI steps of the SET_IRQS-level INTx body on ${target.name}: ${target.intxAbsence}\n`);
        return;
      }
      const m = env.model!;
      expect(m.vfio.device().irq.intxMasked).toBe(true); // automasked at the interrupt
      expect(g.deliveries).toBe(1);
      env.intx.assert();
      expect(g.deliveries).toBe(1);
      expect(g.ack()).toBe(true); // resample → vfio unmasks → the device still asserts → signalled again
      expect(g.line).toBe(true);
      expect(g.deliveries).toBe(2);
      env.intx.deassert();
      expect(g.ack()).toBe(true);
      expect(g.line).toBe(false);
      expect(g.remoteIrr).toBe(false);
      expect(g.deliveries).toBe(2);
      expect(m.vfio.device().irq.intxMasked).toBe(false);
    } finally {
      calls.setIrqs(sys, fd, INTX, 'trigger', 0, { none: 0 });
      route.dispose();
    }
    expect(g.line).toBe(false);
    if (env.model) {
      env.device.dispose();
      expect(env.model.vfio.hazards).toEqual([]);
    }
  });
});
