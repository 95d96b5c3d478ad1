/**
 * KVM irqfd routes, on the KVM model and on the real /dev/kvm: delivery into the local APICs, the
 * order of KVM_SET_GSI_ROUTING and KVM_IRQFD, masking without loss, the tables pushed, the kernel's
 * limits, and what a user closing `route.event` or `route.event.fd` does.
 */
import { type IrqFdRoute, isVirtError } from '@tsvmm/virt';
import { RelayIrqFd } from '@tsvmm/virt/implement';
import type { IoctlDef, Syscalls } from '@tsvmm/linux-sys';
import { FaultInjector, irqFdEventNumberTests } from '@tsvmm/linux-sys/testing';
import { packStruct } from '@tsvmm/ffi';
import * as kvm from '../src/abi';
import type { KvmIrqFd, KvmPartition } from '../src';
import type { ModelRoute } from '../src/testing';
import { DESCRIPTORS_PER_ROUTE, type KvmTarget, byVcpuThenVector, describeOnTargets, linuxIrqFdTarget, msiTo } from './support/targets';

function program(r: IrqFdRoute, vcpu: number, vector: number): void {
  const m = msiTo(vcpu, vector);
  r.setMsi(m.address, m.data);
}

/** A new route of `irqfd` programmed to `vector` on `vcpu` and unmasked: armed, so a signal delivers. */
function armed(irqfd: { newIrqFdRoute(): IrqFdRoute }, vcpu: number, vector: number): IrqFdRoute {
  const r = irqfd.newIrqFdRoute();
  program(r, vcpu, vector);
  r.unmask();
  return r;
}

/** KVM_IRQFD made behind the engine's back, on the kernel's calls (libc, or the model) without the test's log. */
function rawIrqfd(target: KvmTarget, p: KvmPartition, fd: number, gsi: number, flags = 0): number {
  return target.sysOf(p).inner.ioctl(p.vmFd, kvm.KVM_IRQFD, packStruct(kvm.KVM_IRQFD_LAYOUT, { fd, gsi, flags }));
}

describeOnTargets('KVM irqfd', (target) => {
  it('2 vCPUs: every vector 16-255 lands on the vCPU its APIC ID names, at that vector, and nowhere else', () => {
    using p = target.create();
    const irqfd = p.irqfd()!;
    for (let vector = 16; vector < 256; vector++) {
      const vcpu = vector % 2;
      const r = armed(irqfd, vcpu, vector);
      r.event.signal();
      expect(target.takeIrr(p)).toEqual([[vcpu, vector]]);
      r.dispose();
    }
  });

  it('retargets while unmasked with one commit and no irqfd change; the next signal lands on the new target only', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const r = armed(p.irqfd()!, 0, 0x41);
    r.event.signal();
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
    const mark = sys.mark();
    program(r, 1, 0x55);
    expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_SET_GSI_ROUTING']);
    r.event.signal();
    expect(target.takeIrr(p)).toEqual([[1, 0x55]]);
    program(r, 0, 0x66);
    r.event.signal();
    expect(target.takeIrr(p)).toEqual([[0, 0x66]]);
  });

  it('every pushed table keeps the 40 default legacy routes of KVM_CREATE_IRQCHIP; irqfd GSIs start at 24', () => {
    const tables: Entry[][] = [];
    using p = target.create({
      wrap: (inner) =>
        new (class extends FaultInjector {
          override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
            if (request === kvm.KVM_SET_GSI_ROUTING && arg instanceof Uint8Array) tables.push(decodeTable(arg));
            return super.ioctl(fd, request, arg);
          }
        })(inner),
    });
    const irqfd = p.irqfd() as KvmIrqFd;
    const routes = irqfd.batch(() =>
      Array.from({ length: 3 }, (_, i) => armed(irqfd, i % 2, 0x70 + i)),
    );
    expect(routes.map((r) => (r as unknown as { gsi: number }).gsi)).toEqual([24, 25, 26]);
    routes[1]!.dispose();
    routes[0]!.clearMsi();
    // x86 kvm_setup_default_irq_routing: GSIs 0-15 to the IOAPIC pin and the PIC (master 0-7, slave 8-15), 16-23 to the IOAPIC.
    const legacy = Array.from({ length: 24 }, (_, g) => {
      const ioapic = { gsi: g, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, a: kvm.KVM_IRQCHIP_IOAPIC, b: g, c: 0 };
      return g < 16 ? [ioapic, { gsi: g, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, a: g < 8 ? kvm.KVM_IRQCHIP_PIC_MASTER : kvm.KVM_IRQCHIP_PIC_SLAVE, b: g % 8, c: 0 }] : [ioapic];
    }).flat();
    expect(legacy).toHaveLength(40);
    const msi = (gsi: number, vcpu: number, vector: number) => ({ gsi, type: kvm.KVM_IRQ_ROUTING_MSI, a: msiTo(vcpu, vector).address, b: 0, c: vector });
    expect(tables).toEqual([
      [...legacy, msi(24, 0, 0x70), msi(25, 1, 0x71), msi(26, 0, 0x72)],
      [...legacy, msi(24, 0, 0x70), msi(26, 0, 0x72)],
      [...legacy, msi(26, 0, 0x72)],
    ]);
    // Only the model's table can be read back: the kernel holds exactly the last table pushed.
    if (!target.real) expect(target.modelOf(p).vm.routes.map(fromModel)).toEqual(tables[2]);
    routes[2]!.event.signal();
    expect(target.takeIrr(p)).toEqual([[0, 0x72]]);
  });

  it('a route takes its GSI at its first MSI and gives it back once a committed table no longer holds it', () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const r = irqfd.newIrqFdRoute();
    expect({ gsi: r.gsi, gsis: irqfd.gsiCount }).toEqual({ gsi: undefined, gsis: 0 });
    const m = msiTo(1, 0x61);
    r.setMsi(m.address, m.data);
    expect({ gsi: r.gsi, gsis: irqfd.gsiCount }).toEqual({ gsi: 24, gsis: 1 });
    // The kernel's table can be read back on the model only.
    if (!target.real) expect(target.modelOf(p).msiRoutes().get(24)).toEqual(m.msi);
    r.clearMsi();
    expect({ gsi: r.gsi, gsis: irqfd.gsiCount, table: irqfd.table.kernelRoutes().size }).toEqual({ gsi: undefined, gsis: 0, table: 0 });
    if (!target.real) expect(target.modelOf(p).msiRoutes().size).toBe(0);
    r.setMsi(m.address, m.data);
    r.dispose();
    expect({ gsis: irqfd.gsiCount, table: irqfd.table.kernelRoutes().size }).toEqual({ gsis: 0, table: 0 });
    if (!target.real) expect(target.modelOf(p).msiRoutes().size).toBe(0);
  });

  it('keeps the order: route committed before assign; deassign before the route is removed', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const r = p.irqfd()!.newIrqFdRoute();
    r.unmask();
    let mark = sys.mark();
    program(r, 0, 0x41);
    expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_SET_GSI_ROUTING', 'read', 'KVM_IRQFD']);
    mark = sys.mark();
    r.clearMsi();
    expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_IRQFD', 'KVM_SET_GSI_ROUTING']);
    program(r, 0, 0x41);
    mark = sys.mark();
    r.dispose();
    // Deassign, removal commit, then the eventfd: kcmp proves event.fd still names it, close that duplicate, close its own.
    expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_IRQFD', 'KVM_SET_GSI_ROUTING', 'kcmp', 'close', 'close']);
    // The model records an irqfd assigned on an unrouted GSI, or a route removed under an assigned irqfd.
    if (!target.real) expect(target.modelOf(p).hazards).toEqual([]);
  });

  it('skips commits when nothing changed; a batch is one commit, deassigns at once and assigns after the commit', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const irqfd = p.irqfd()!;
    const a = irqfd.newIrqFdRoute();
    program(a, 0, 0x41);
    a.unmask();
    const c0 = irqfd.commitCount;
    program(a, 0, 0x41);
    a.mask();
    a.unmask();
    a.unmask();
    expect(irqfd.commitCount).toBe(c0);
    const mark = sys.mark();
    const routes = irqfd.batch(() => {
      a.mask();
      expect(sys.callsSince(mark).map((c) => c.label)).toEqual(['KVM_IRQFD']); // the deassign ran at once
      return Array.from({ length: 16 }, (_, i) => armed(irqfd, i % 2, 0x80 + i));
    });
    const labels = sys.callsSince(mark).map((c) => c.label);
    expect(labels.filter((l) => l === 'KVM_SET_GSI_ROUTING')).toHaveLength(1);
    expect(labels.lastIndexOf('KVM_SET_GSI_ROUTING')).toBeLessThan(labels.indexOf('KVM_IRQFD', 1));
    expect(irqfd.commitCount).toBe(c0 + 1);
    for (const r of routes) r.event.signal();
    expect(target.takeIrr(p).length).toBe(16);
  });

  it('the largest table the kernel takes: 40 legacy routes + maxKernelRoutes MSI routes, all delivering; one more route costs its descriptors, no GSI', () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const max = irqfd.capabilities.maxKernelRoutes!;
    expect(max).toBeGreaterThanOrEqual(4000);
    expect(max + 40).toBe(p.extensions.irqRouting);
    const c0 = irqfd.commitCount;
    const routes = irqfd.batch(() =>
      Array.from({ length: max }, (_, i) => armed(irqfd, i % 2, 16 + (i % 240))),
    );
    expect(irqfd.commitCount).toBe(c0 + 1);
    expect(irqfd.capabilities.maxRoutes).toBeGreaterThan(max);
    expect(irqfd.gsiCount).toBe(max);
    // The kernel's table can be read back on the model only: it holds every route.
    if (!target.real) expect(target.modelOf(p).vm.routes.length).toBe(40 + max);
    const fds = target.openFdCount();
    const extra = irqfd.newIrqFdRoute();
    expect({ mediation: extra.mediation, gsi: extra.gsi, gsis: irqfd.gsiCount, fds: target.openFdCount() - fds }).toEqual({
      mediation: 'kernel',
      gsi: undefined,
      gsis: max,
      fds: DESCRIPTORS_PER_ROUTE,
    });
    extra.dispose();
    // Signal in groups of 240 routes (distinct vectors per vCPU) and check each group landed exactly.
    for (let start = 0; start < max; start += 240) {
      const group = routes.slice(start, start + 240);
      for (const r of group) r.event.signal();
      const expected = group.map((_, j) => [(start + j) % 2, 16 + ((start + j) % 240)] as [number, number]);
      expect(target.takeIrr(p).sort(byVcpuThenVector)).toEqual(expected.sort(byVcpuThenVector));
    }
    irqfd.batch(() => routes.forEach((r) => r.dispose()));
    expect(irqfd.gsiCount).toBe(0);
  });

  it('mask → signal → unmask delivers exactly once, 200 cycles', () => {
    using p = target.create();
    const r = armed(p.irqfd()!, 1, 0x71);
    for (let i = 0; i < 200; i++) {
      r.mask();
      r.event.signal();
      if (i % 2) r.event.signal();
      expect(target.takeIrr(p)).toEqual([]);
      r.unmask();
      expect(target.takeIrr(p)).toEqual([[1, 0x71]]);
      expect(r.consumePending()).toBe(false);
      r.event.signal();
      expect(target.takeIrr(p)).toEqual([[1, 0x71]]);
    }
  });

  it('mask → signal → consumePending reports once, then unmask delivers nothing, 200 cycles', () => {
    using p = target.create();
    const r = armed(p.irqfd()!, 0, 0x72);
    for (let i = 0; i < 200; i++) {
      r.mask();
      expect(r.consumePending()).toBe(false);
      r.event.signal();
      expect(r.consumePending()).toBe(true);
      expect(r.consumePending()).toBe(false);
      r.unmask();
      expect(target.takeIrr(p)).toEqual([]);
    }
  });

  it('a signal racing with unmask (after the latched drain, before the assign) is delivered once, never also reported as pending', () => {
    let racer = -1;
    using p = target.create({
      wrap: (inner) =>
        new (class extends FaultInjector {
          override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
            const assign = request === kvm.KVM_IRQFD && arg instanceof Uint8Array && arg[kvm.KVM_IRQFD_LAYOUT.fields.flags.offset] === 0;
            if (assign && racer >= 0) inner.write(racer, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8); // a device thread signals now
            return super.ioctl(fd, request, arg);
          }
        })(inner),
    });
    const r = p.irqfd()!.newIrqFdRoute();
    program(r, 1, 0x4c);
    racer = r.event.fd!;
    r.unmask(); // the kernel sees the raced signal at assign and injects it (KVM from a workqueue)
    racer = -1;
    r.mask(); // deassign waits for that injection
    expect(target.takeIrr(p)).toEqual([[1, 0x4c]]);
    expect(r.consumePending()).toBe(false); // delivered, so not pending as well
    r.unmask();
    expect(target.takeIrr(p)).toEqual([]);
  });

  it('EBUSY: unmasking a route whose eventfd someone else assigned is a BUSY error; the route stays as it was', () => {
    using p = target.create();
    const r = p.irqfd()!.newIrqFdRoute();
    program(r, 0, 0x41);
    expect(rawIrqfd(target, p, r.event.fd!, 3000)).toBe(0); // misuse: the fd handed to KVM_IRQFD behind the route's back
    let err: unknown;
    try {
      r.unmask();
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, 'BUSY')).toBe(true);
    expect((err as Error).message).toMatch(/EBUSY.*already assigned/);
    expect(r.masked).toBe(true);
    expect(rawIrqfd(target, p, r.event.fd!, 3000, kvm.KVM_IRQFD_FLAG_DEASSIGN)).toBe(0);
    r.event.signal();
    expect(target.takeIrr(p)).toEqual([]);
    r.unmask();
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
    // The model records the misuse itself (an irqfd on GSI 3000, which no table routes), and nothing else.
    if (!target.real) expect(target.modelOf(p).hazards).toEqual([expect.stringMatching(/GSI 3000, which the committed table does not route/)]);
  });

  it('a route whose event its user disposed: calls throw DISPOSED, dispose is safe, and a route reusing the fd numbers is untouched', () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const fds = target.openFdCount();
    const a = irqfd.newIrqFdRoute();
    program(a, 0, 0x41);
    a.unmask();
    const fd = a.event.fd;
    a.event.dispose(); // wrong (the route owns it): closing it tore the irqfd down
    for (const call of [() => a.mask(), () => a.unmask(), () => a.clearMsi(), () => program(a, 1, 0x42), () => a.consumePending()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'DISPOSED', message: expect.stringMatching(/owns its event/) }));
    }
    const b = irqfd.newIrqFdRoute();
    expect(b.event.fd).toBe(fd);
    program(b, 1, 0x43);
    b.unmask();
    expect(() => a.dispose()).not.toThrow();
    expect(irqfd.routeCount).toBe(1);
    b.event.signal();
    expect(target.takeIrr(p)).toEqual([[1, 0x43]]);
    b.dispose();
    expect(target.openFdCount()).toBe(fds);
    expect(irqfd.gsiCount).toBe(0);
  });

  // One body for every Linux backend: @tsvmm/linux-sys/testing.
  irqFdEventNumberTests(linuxIrqFdTarget(target));

  it('EINVAL: a table past the kernel limit is a typed error and the batch is rolled back', () => {
    // Pretend the limit is one entry higher than the kernel's, so the kernel itself refuses.
    using p = target.create({ routingEntries: 4097 });
    const irqfd = p.irqfd() as KvmIrqFd;
    const baseline = target.openFdCount();
    const keep = irqfd.newIrqFdRoute();
    program(keep, 1, 0x44);
    keep.unmask();
    const c0 = irqfd.commitCount;
    let err: unknown;
    try {
      irqfd.batch(() => {
        program(keep, 0, 0x45);
        for (let i = 1; i < irqfd.capabilities.maxRoutes; i++) program(irqfd.newIrqFdRoute(), 0, 0x50);
      });
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, 'SYSCALL')).toBe(true);
    expect((err as { errnoName: string }).errnoName).toBe('EINVAL');
    expect((err as Error).message).toMatch(/KVM_SET_GSI_ROUTING, 4097 entries.*beyond a kernel limit.*every route changed in this call is as it was/i);
    expect(irqfd.commitCount).toBe(c0);
    expect(irqfd.routeCount).toBe(1);
    expect(irqfd.gsiCount).toBe(1);
    expect(target.openFdCount()).toBe(baseline + DESCRIPTORS_PER_ROUTE);
    expect(keep.msi).toEqual(msiTo(1, 0x44).msi);
    expect(irqfd.table.pending).toBe(false);
    keep.event.signal();
    expect(target.takeIrr(p)).toEqual([[1, 0x44]]);
  });

  it('without KVM_CAP_IRQFD, irqfd() is the user-space relay and says why', async () => {
    const wrap = (inner: Syscalls) => withoutCapability(inner, kvm.KVM_CAP.KVM_CAP_IRQFD);
    // The model serves the relay's eventfds and epoll from the process (a relay needs real epoll).
    const p = target.create({ irqfd: 'auto', wrap, processEvents: true });
    try {
      const irqfd = p.irqfd()!;
      expect(irqfd).toBeInstanceOf(RelayIrqFd);
      expect(p.capabilities).toMatchObject({ irqfd: 'emulated', irqfdReason: 'KVM_CAP_IRQFD is missing on this host', resample: false });
      expect(irqfd.capabilities.mechanism).toMatch(/relay.*KVM_CAP_IRQFD is missing/);
      expect(() => target.create({ vcpus: 1, wrap, irqfd: 'kernel' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
      // The relay's worker thread injects with KVM_SIGNAL_MSI on the VM's descriptor: a device's only.
      if (target.real) {
        const r = armed(irqfd, 1, 0x58);
        r.event.signal();
        await (irqfd as RelayIrqFd).settle();
        expect(target.takeIrr(p)).toEqual([[1, 0x58]]);
      }
    } finally {
      p.dispose();
      await p.whenClosed();
    }
  });

  it('a dispose whose removal commit fails never throws; its GSI is kept out of use until a later commit removes the route', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const irqfd = p.irqfd() as KvmIrqFd;
    const r = armed(irqfd, 0, 0x41);
    const gsi = (r as unknown as { gsi: number }).gsi;
    sys.fail(kvm.KVM_SET_GSI_ROUTING, 5 /* EIO */);
    expect(() => r.dispose()).not.toThrow();
    expect(r.disposed).toBe(true);
    expect(irqfd.routeCount).toBe(0);
    expect(irqfd.gsiCount).toBe(1);
    expect(irqfd.table.kernelRoutes().has(gsi)).toBe(true);
    // The kernel really still routes it: the model can be asked.
    if (!target.real) expect(target.modelOf(p).msiRoutes().has(gsi)).toBe(true);
    const s = irqfd.newIrqFdRoute();
    expect((s as unknown as { gsi: number }).gsi).not.toBe(gsi);
    program(s, 1, 0x42); // this commit also drops the old route
    expect(irqfd.table.kernelRoutes().has(gsi)).toBe(false);
    if (!target.real) expect(target.modelOf(p).msiRoutes().has(gsi)).toBe(false);
    expect(irqfd.gsiCount).toBe(1);
    s.unmask();
    s.event.signal();
    expect(target.takeIrr(p)).toEqual([[1, 0x42]]);
  });
});

/** Syscalls where KVM_CHECK_EXTENSION reports `cap` as absent. */
function withoutCapability(inner: Syscalls, cap: number): FaultInjector {
  return new (class extends FaultInjector {
    override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
      if (request === kvm.KVM_CHECK_EXTENSION && arg === cap) return 0;
      return super.ioctl(fd, request, arg);
    }
  })(inner);
}

/** One routing entry (irqchip: a = chip, b = pin; MSI: a = address_lo, b = address_hi, c = data). */
interface Entry {
  gsi: number;
  type: number;
  a: number;
  b: number;
  c: number;
}

/** A KVM_SET_GSI_ROUTING argument as entries. */
function decodeTable(buf: Uint8Array): Entry[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const H = kvm.KVM_IRQ_ROUTING;
  const E = kvm.KVM_IRQ_ROUTING_ENTRY;
  const F = E.fields;
  expect(v.getUint32(H.fields.flags.offset, true)).toBe(0);
  return Array.from({ length: v.getUint32(H.fields.nr.offset, true) }, (_, i) => {
    const at = H.size + i * E.size;
    const type = v.getUint32(at + F.type.offset, true);
    expect(v.getUint32(at + F.flags.offset, true)).toBe(0);
    if (type === kvm.KVM_IRQ_ROUTING_MSI) {
      return { gsi: v.getUint32(at + F.gsi.offset, true), type, a: v.getUint32(at + F.msiAddressLo.offset, true), b: v.getUint32(at + F.msiAddressHi.offset, true), c: v.getUint32(at + F.msiData.offset, true) };
    }
    return { gsi: v.getUint32(at + F.gsi.offset, true), type, a: v.getUint32(at + F.irqchip.offset, true), b: v.getUint32(at + F.pin.offset, true), c: 0 };
  });
}

/** A route of the model's committed table, as {@link decodeTable} gives it. */
function fromModel(r: ModelRoute): Entry {
  return r.type === 'msi'
    ? { gsi: r.gsi, type: kvm.KVM_IRQ_ROUTING_MSI, a: r.addressLo, b: r.addressHi, c: r.data }
    : { gsi: r.gsi, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, a: r.irqchip, b: r.pin, c: 0 };
}
