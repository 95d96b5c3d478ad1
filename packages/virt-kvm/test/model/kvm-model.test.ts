/**
 * The KVM model itself, against the reference facts (ioctl numbers and offsets written out here
 * as raw bytes, never through the backend's encoders).
 */
import { KvmKernelModel, modelRelayPlatform } from '../../src/testing';
import { thrownBy } from '@tsvmm/virt/testing';
import { CREATE_IRQCHIP, CREATE_VCPU, CREATE_VM, GET_LAPIC, IRQFD, O_RDWR, SET_GSI_ROUTING, SET_IRQCHIP, SET_LAPIC, ioapicArg, irqfdArg as irqfd, resampleIrqfdArg, routingTable as table } from '../support/kvm-raw';

const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

function vm(options: { workRunsWhilePolled?: boolean } = {}): { m: KvmKernelModel; vmFd: number; vcpu: number } {
  const m = new KvmKernelModel({ apicIds: [0, 1], ...options });
  const kvmFd = m.open('/dev/kvm', O_RDWR);
  const vmFd = m.ioctl(kvmFd, CREATE_VM, 0);
  expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([]))).toBe(-22); // no irqchip yet
  expect(m.ioctl(vmFd, CREATE_IRQCHIP, 0)).toBe(0);
  const vcpu = m.ioctl(vmFd, CREATE_VCPU, 0);
  const page = new Uint8Array(1024);
  m.ioctl(vcpu, GET_LAPIC, page);
  new DataView(page.buffer).setUint32(0xf0, 0x1ff, true); // SVR: software enable
  m.ioctl(vcpu, SET_LAPIC, page);
  return { m, vmFd, vcpu };
}

describe('the KVM model', () => {
  it.each([true, false])('a deferred injection, workRunsWhilePolled %s: the first KVM_GET_LAPIC after the write still sees the state before it, the second sees it run (or only flushWork runs it)', (polled) => {
    const { m, vmFd, vcpu } = vm({ workRunsWhilePolled: polled });
    // 0xFF with the broadcast quirk on (a new VM's default) is a broadcast: the fast path declines and the work item injects.
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 30, type: 2, a: 0xfee00000 | (0xff << 12), c: 0x41 }]))).toBe(0);
    const e = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30))).toBe(0);
    const irr = (): number => {
      const page = new Uint8Array(1024);
      expect(m.ioctl(vcpu, GET_LAPIC, page)).toBe(0);
      return new DataView(page.buffer).getUint32(0x200 + 0x20, true); // IRR bits 95:64 (vector 0x41 is bit 1)
    };
    expect(m.write(e, ONE, 8)).toBe(8);
    expect({ irr: irr(), work: m.pendingWork }).toEqual({ irr: 0, work: 1 });
    expect({ irr: irr(), work: m.pendingWork }).toEqual(polled ? { irr: 2, work: 0 } : { irr: 0, work: 1 });
    m.flushWork();
    expect(irr()).toBe(2);
  });

  it('CREATE_IRQCHIP installs the 40 default legacy routes', () => {
    const { m } = vm();
    expect(m.vm.routes.length).toBe(40);
    expect(m.vm.routes.filter((r) => r.gsi === 3)).toEqual([
      { gsi: 3, type: 'irqchip', irqchip: 2, pin: 3 },
      { gsi: 3, type: 'irqchip', irqchip: 0, pin: 3 },
    ]);
  });

  it('SET_GSI_ROUTING is all or nothing, with the EINVAL cases of the reference', () => {
    const { m, vmFd } = vm();
    const msi = { gsi: 30, type: 2, a: 0xfee00000, c: 0x41 };
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([msi]))).toBe(0);
    const kept = m.vm.routes;
    for (const bad of [
      table([msi], 1), // header flags
      table([{ ...msi, gsi: 4096 }]), // gsi beyond KVM_MAX_IRQ_ROUTES
      table([msi, { ...msi, c: 0x42 }]), // a second MSI entry for one GSI
      table([{ ...msi, flags: 2 }]), // unknown entry flags
      table(Array.from({ length: 4097 }, (_, i) => ({ ...msi, gsi: i % 4096 }))), // nr > 4096
    ]) {
      expect(m.ioctl(vmFd, SET_GSI_ROUTING, bad)).toBe(-22);
      expect(m.vm.routes).toBe(kept);
    }
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([]))).toBe(0); // nr = 0 is legal
    expect(m.vm.routes).toEqual([]);
  });

  it('IRQFD: EBADF, EINVAL for a non-eventfd, EBUSY when assigned, deassign of nothing is 0; assign injects a pending signal and leaves the count readable; deassign drains', () => {
    const { m, vmFd, vcpu } = vm();
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 30, type: 2, a: 0xfee00000, c: 0x41 }]))).toBe(0);
    const e = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(999, 30))).toBe(-9);
    expect(m.ioctl(vmFd, IRQFD, irqfd(vcpu, 30))).toBe(-22);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30, 1))).toBe(0); // deassign of nothing
    expect(m.write(e, ONE, 8)).toBe(8); // latched
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30))).toBe(0);
    // The pending signal is injected by the irqfd's work item, after KVM_IRQFD returns.
    expect({ irr: m.bus.apics[0]!.state().irr, work: m.pendingWork }).toEqual({ irr: [], work: 1 });
    expect(m.flushWork()).toBe(1);
    expect(m.bus.apics[0]!.state().irr).toEqual([0x41]); // injected
    expect(m.eventfdCount(e)).toBe(1n); // still readable (stale)
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 31))).toBe(-16);
    m.bus.apics[0]!.clearIrr();
    expect(m.write(e, ONE, 8)).toBe(8); // drains and injects once
    expect({ irr: m.bus.apics[0]!.state().irr, count: m.eventfdCount(e) }).toEqual({ irr: [0x41], count: 0n });
    m.write(e, ONE, 8);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30, 1))).toBe(0);
    m.bus.apics[0]!.clearIrr();
    expect(m.write(e, ONE, 8)).toBe(8); // latches after deassign
    expect({ irr: m.bus.apics[0]!.state().irr, count: m.eventfdCount(e) }).toEqual({ irr: [], count: 1n });
    expect(m.hazards).toEqual([]);
  });

  it('flags an irqfd assigned on an unrouted GSI and a route removed under an assigned irqfd', () => {
    const { m, vmFd } = vm();
    const e = m.eventfd(0, 0);
    m.ioctl(vmFd, IRQFD, irqfd(e, 50));
    expect(m.hazards).toEqual([expect.stringMatching(/GSI 50, which the committed table does not route/)]);
    m.hazards.length = 0;
    m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 50, type: 2, a: 0xfee00000, c: 0x41 }]));
    m.ioctl(vmFd, SET_GSI_ROUTING, table([]));
    expect(m.hazards).toEqual([expect.stringMatching(/route of GSI 50 was removed while eventfd/)]);
  });

  it('KVM_IRQFD deassign needs no irqchip (kvm_irqfd goes straight to kvm_irqfd_deassign): 0, or the fd errors; assign without one is EINVAL', () => {
    const m = new KvmKernelModel({ apicIds: [0] });
    const vmFd = m.ioctl(m.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    const e = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30, 1))).toBe(0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(999, 30, 1))).toBe(-9);
    expect(m.ioctl(vmFd, IRQFD, irqfd(e, 30))).toBe(-22);
  });

  it('KVM_GET_LAPIC / KVM_SET_LAPIC: no in-kernel LAPIC is EINVAL before the page is touched, a page under 1024 bytes then EFAULT (kvm_arch_vcpu_ioctl)', () => {
    const m = new KvmKernelModel({ apicIds: [0] });
    const vmFd = m.ioctl(m.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    const bare = m.ioctl(vmFd, CREATE_VCPU, 0);
    for (const req of [GET_LAPIC, SET_LAPIC]) {
      expect(m.ioctl(bare, req, new Uint8Array(16))).toBe(-22);
      expect(m.ioctl(bare, req, undefined)).toBe(-22);
    }
    const { m: m2, vcpu } = vm();
    const short = new Uint8Array(1023).fill(0xaa);
    expect(m2.ioctl(vcpu, GET_LAPIC, short)).toBe(-14);
    expect(short.every((b) => b === 0xaa)).toBe(true);
    expect(m2.ioctl(vcpu, SET_LAPIC, new Uint8Array(1023))).toBe(-14);
    // The refused SET changed nothing: SVR still has the software enable vm() set.
    const page = new Uint8Array(1024);
    expect(m2.ioctl(vcpu, GET_LAPIC, page)).toBe(0);
    expect(new DataView(page.buffer).getUint32(0xf0, true) & 0x100).toBe(0x100);
  });

  it('SET_GSI_ROUTING: a GSI with an MSI entry has no other entry, and one entry per irqchip (setup_routing_entry), EINVAL otherwise', () => {
    const { m, vmFd } = vm();
    for (const bad of [
      [{ gsi: 30, type: 2, a: 0xfee00000 }, { gsi: 30, type: 1, a: 2, b: 5 }],
      [{ gsi: 30, type: 1, a: 2, b: 5 }, { gsi: 30, type: 2, a: 0xfee00000 }],
      [{ gsi: 30, type: 1, a: 2, b: 5 }, { gsi: 30, type: 1, a: 2, b: 6 }],
    ]) expect(m.ioctl(vmFd, SET_GSI_ROUTING, table(bad))).toBe(-22);
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 30, type: 1, a: 2, b: 5 }, { gsi: 30, type: 1, a: 0, b: 5 }]))).toBe(0);
  });

  it("an edge irqfd on an IOAPIC pin and a resample irqfd inject from the irqfd's work item; the guest's EOI finds the GSI of the pin's last routing entry", () => {
    const { m, vmFd } = vm();
    // Two GSIs routed to IOAPIC pin 5: kvm_irq_map_chip_pin answers the later one (31).
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 30, type: 1, a: 2, b: 5 }, { gsi: 31, type: 1, a: 2, b: 5 }, { gsi: 32, type: 1, a: 2, b: 6 }]))).toBe(0);
    expect(m.ioctl(vmFd, SET_IRQCHIP, ioapicArg(5, 0x8061n))).toBe(0); // level, vector 0x61, APIC 0, unmasked
    const level = m.eventfd(0, 0);
    const resample = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, resampleIrqfdArg(level, 31, resample))).toBe(0);
    expect(m.write(level, ONE, 8)).toBe(8);
    expect({ irr: m.bus.apics[0]!.state().irr, work: m.pendingWork }).toEqual({ irr: [], work: 1 });
    m.flushWork();
    expect(m.bus.apics[0]!.state().irr).toEqual([0x61]);
    expect(m.eoi(0, 0x61)).toBe(true);
    expect(m.eventfdCount(resample)).toBe(1n); // the resampler of GSI 31 was acknowledged
    // An edge irqfd on pin 6's GSI: queued too, pulsed when the work runs.
    expect(m.ioctl(vmFd, SET_IRQCHIP, ioapicArg(6, 0x42n))).toBe(0);
    const edge = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(edge, 32))).toBe(0);
    m.bus.apics[0]!.clearIrr();
    expect(m.write(edge, ONE, 8)).toBe(8);
    expect({ irr: m.bus.apics[0]!.state().irr, work: m.pendingWork }).toEqual({ irr: [], work: 1 });
    m.flushWork();
    expect(m.bus.apics[0]!.state().irr).toEqual([0x42]);
  });

});

test('the model refuses wrong options with INVALID_ARGUMENT naming them, and the relay factory a wrong model', () => {
  const bad: unknown[] = [null, { apicIds: 'x' }, { apicIds: [] }, { apicIds: [0, -1] }, { maxRoutes: -1 }, { maxRoutes: Number.NaN }, { maxRoutes: '42' }, { maxRoutes: 41.5 }, { maxFds: -1 }, { typo: 1 }, { capabilities: 5 }];
  for (const o of bad) {
    const e = thrownBy(() => new KvmKernelModel(o as never));
    expect({ o, code: (e as { code?: string }).code }).toEqual({ o, code: 'INVALID_ARGUMENT' });
  }
  for (const m of [{}, null, 'model']) expect((thrownBy(() => modelRelayPlatform(m as never)) as { code?: string }).code).toBe('INVALID_ARGUMENT');
});

test("the guest-EOI helpers refuse a vCPU the VM lacks, a vector outside 0-255 and a non-VM fd with INVALID_ARGUMENT, and EOI nothing", () => {
  const { m, vmFd, vcpu } = vm();
  expect(m.ioctl(vmFd, SET_GSI_ROUTING, table([{ gsi: 30, type: 1, a: 2, b: 5 }]))).toBe(0);
  expect(m.ioctl(vmFd, SET_IRQCHIP, ioapicArg(5, 0x8061n))).toBe(0); // level, vector 0x61, APIC 0, unmasked
  const level = m.eventfd(0, 0);
  const resample = m.eventfd(0, 0);
  expect(m.ioctl(vmFd, IRQFD, resampleIrqfdArg(level, 30, resample))).toBe(0);
  expect(m.write(level, ONE, 8)).toBe(8);
  m.flushWork();
  expect(m.bus.apics[0]!.state().irr).toEqual([0x61]);
  const refused: [() => unknown, string][] = [
    [() => m.eoi(7, 0x61), 'KvmKernelModel.eoi'],
    [() => m.eoi('0' as never, 0x61), 'KvmKernelModel.eoi'],
    [() => m.eoi(0, 256), 'KvmKernelModel.eoi'],
    [() => m.eoi(0, 97.5), 'KvmKernelModel.eoi'],
    [() => m.modelGuestEoi(vcpu, 0, 0x61), 'KvmKernelModel.modelGuestEoi'],
    [() => m.modelGuestEoi(vmFd, 7, 0x61), 'KvmKernelModel.eoi'],
  ];
  for (const [call, operation] of refused) {
    const e = thrownBy(call) as { code?: string; operation?: string };
    expect({ code: e.code, operation: e.operation }).toEqual({ code: 'INVALID_ARGUMENT', operation });
  }
  // Nothing was acknowledged: the vector is still requested and the resample eventfd unsignalled.
  expect({ irr: m.bus.apics[0]!.state().irr, resample: m.eventfdCount(resample) }).toEqual({ irr: [0x61], resample: 0n });
  expect(m.eoi(0, 0x61)).toBe(true);
  expect(m.eventfdCount(resample)).toBe(1n);
});
