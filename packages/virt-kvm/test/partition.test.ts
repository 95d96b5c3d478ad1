/** KvmPartition: what create makes, one-shot MSIs, local APIC reads, options, disposal and probe. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isVirtError } from '@tsvmm/virt';
import { OptionReads } from '@tsvmm/virt/testing';
import { EACCES, ENOMEM, EPERM, O_CLOEXEC } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { KvmPartition, probe } from '../src';
import { KvmKernelModel } from '../src/testing';
import { describeOnTargets, msiTo } from './support/targets';

describeOnTargets('KvmPartition', (target) => {
  it('creates a VM with an irqchip, vCPUs with APIC IDs 0..n-1 and software-enabled APICs, and frozen capabilities', () => {
    using p = target.create({ irqfd: 'auto' });
    expect(p.backend).toBe('kvm');
    expect(p.vcpuCount).toBe(2);
    expect(Object.isFrozen(p.capabilities)).toBe(true);
    expect(p.capabilities).toMatchObject({ backend: 'kvm', irqfd: 'kernel', irqfdReason: '', x2apic: false });
    expect(p.irqfd()!.capabilities.maxKernelRoutes).toBe(p.extensions.irqRouting - 40);
    expect(p.capabilities.maxRoutes).toBe(p.irqfd()!.capabilities.maxRoutes);
    expect(p.capabilities.maxVcpus).toBeGreaterThanOrEqual(2);
    for (const v of [0, 1]) {
      const s = p.readLocalApic(v);
      expect(s).toEqual({ apicId: v, irr: [], isr: [], tmr: [], softwareEnabled: true });
    }
    if (target.real) {
      // What a descriptor is, the process's /proc/self/fd says; model numbers are not the process's.
      expect(readlinkSync(`/proc/self/fd/${p.vmFd}`)).toBe('anon_inode:kvm-vm');
      expect(readlinkSync(`/proc/self/fd/${p.vcpuFd(1)}`)).toMatch(/^anon_inode:kvm-vcpu/);
    } else {
      const model = target.modelOf(p);
      expect({ vmFd: model.fdOf(model.vm), irqchip: model.vm.irqchip, vcpus: [...model.vm.vcpus.keys()], vcpu1: model.fdOf(model.vm.vcpus.get(1)!) }).toEqual({
        vmFd: p.vmFd,
        irqchip: true,
        vcpus: [0, 1],
        vcpu1: p.vcpuFd(1),
      });
    }
  });

  // Close-on-exec is a flag of the process's descriptors (/proc/self/fdinfo): a model number has none.
  (target.real ? it : it.skip)('every fd it opens is close-on-exec (/dev/kvm, VM, vCPUs, eventfds; epoll and control eventfd for the relay)', async () => {
    const cloexec = (fd: string): boolean =>
      (parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & O_CLOEXEC) === O_CLOEXEC;
    // fd -> what it is; the directory listing's own fd shows up once and is gone after.
    const snapshot = (): Map<string, string> => {
      const m = new Map<string, string>();
      for (const fd of readdirSync('/proc/self/fd')) {
        try {
          m.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          // the listing's own fd, closed already
        }
      }
      return m;
    };
    for (const mode of ['kernel', 'relay'] as const) {
      const before = snapshot();
      const p = target.create({ irqfd: mode });
      try {
        const irqfd = p.irqfd()!;
        await (irqfd as { settle?: () => Promise<void> }).settle?.(); // the relay worker is up
        const r = irqfd.newIrqFdRoute();
        r.setMsi(msiTo(0, 0x41).address, 0x41);
        r.unmask();
        const now = snapshot();
        const opened = [...now.keys()].filter((fd) => before.get(fd) !== now.get(fd));
        const kinds = opened.map((fd) => now.get(fd)!);
        expect(kinds).toEqual(expect.arrayContaining(['/dev/kvm', 'anon_inode:kvm-vm', 'anon_inode:[eventfd]']));
        if (mode === 'relay') expect(kinds).toContain('anon_inode:[eventpoll]');
        expect({ mode, notCloexec: opened.filter((fd) => !cloexec(fd)).map((fd) => now.get(fd)) }).toEqual({ mode, notCloexec: [] });
        for (const fd of [p.vmFd, p.vcpuFd(0), p.vcpuFd(1), r.event.fd!]) expect(opened).toContain(String(fd));
      } finally {
        p.dispose();
        await p.whenClosed();
      }
    }
  });

  it('requestMsi lands the vector on the vCPU the MSI names, and nowhere else', () => {
    using p = target.create();
    expect(p.requestMsi(msiTo(1, 0x61).address, 0x61)).toBe(true);
    expect(target.takeIrr(p)).toEqual([[1, 0x61]]);
    expect(p.requestMsi(BigInt(msiTo(0, 0x62).address), 0x62)).toBe(true);
    expect(target.takeIrr(p)).toEqual([[0, 0x62]]);
    expect(target.takeIrr(p)).toEqual([]);
  });

  it('requestMsi rejects bad messages before any ioctl', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const mark = sys.mark();
    for (const [addr, data] of [
      [0xfed00000, 0x41],
      [0xfee00000, 0x05],
      [0x1_fee00000, 0x41],
      [0xfee00000, 0x1_0000_0000],
      [0xfee00010, 0x41],
    ] as const) {
      expect(() => p.requestMsi(addr, data)).toThrow(expect.objectContaining({ name: 'VirtError' }));
    }
    expect(() => p.requestMsi('x' as never, 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(sys.callsSince(mark)).toEqual([]);
    expect(target.takeIrr(p)).toEqual([]);
  });

  it('clearIrr clears only IRR', () => {
    using p = target.create();
    p.requestMsi(msiTo(0, 0x41).address, 0x41);
    p.requestMsi(msiTo(0, 0xe0).address, 0xe0);
    expect(p.readLocalApic(0).irr).toEqual([0x41, 0xe0]);
    p.clearIrr(0);
    expect(p.readLocalApic(0)).toMatchObject({ irr: [], softwareEnabled: true, apicId: 0 });
  });

  it('irrReader tests one IRR bit of one vCPU per call; bad arguments are refused before any read', () => {
    const p = target.create();
    // 0x51 is bit 17 of IRR word 2; 0x41 bit 1 of the same word.
    const reader = p.irrReader(1, 0x51);
    const others = [p.irrReader(0, 0x51), p.irrReader(1, 0x41), p.irrReader(1, 0x71), p.irrReader(1, 0xe1)];
    expect(reader()).toBe(false);
    p.requestMsi(msiTo(1, 0x51).address, 0x51);
    expect([reader(), ...others.map((r) => r())]).toEqual([true, false, false, false, false]);
    p.requestMsi(msiTo(1, 0xe1).address, 0xe1);
    expect([reader(), ...others.map((r) => r())]).toEqual([true, false, false, false, true]);
    p.clearIrr(1);
    expect(reader()).toBe(false);
    const sys = target.sysOf(p);
    const mark = sys.mark();
    for (const [vcpu, vector] of [[2, 0x41], [-1, 0x41], [0, 256], [0, -1], [0, 1.5], [0, '1']] as const) {
      expect(() => p.irrReader(vcpu, vector as number)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(sys.callsSince(mark)).toEqual([]);
    p.dispose();
    expect(() => reader()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => p.irrReader(0, 0x41)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });

  it('rejects bad options', () => {
    const sys = new FaultInjector(target.newSyscalls());
    for (const vcpus of [0, -1, 1.5, 256, '2']) {
      expect(() => KvmPartition.create({ vcpus: vcpus as number, sys })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => KvmPartition.create({ vcpus: 2, irqfd: 'fast' as never, sys })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => KvmPartition.create({ vcpus: 2, relayPlatform: 'epoll' as never, sys })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('relayPlatform') }));
    expect(() => KvmPartition.create(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(sys.log).toEqual([]);
  });

  it('reads each option exactly once: a getter answering differently the second time changes nothing', () => {
    const sys = target.newSyscalls();
    const reads = new OptionReads();
    using p = KvmPartition.create(reads.watch({ vcpus: 2, sys, irqfd: 'kernel' as const }, { later: { vcpus: 256 } }));
    expect(p.vcpuCount).toBe(2);
    expect(reads.counts).toEqual({ vcpus: 1, sys: 1, irqfd: 1, apicIds: 1, device: 1, maxRoutes: 1, relayPlatform: 1, retargetWindowMs: 1, routingEntries: 1, x2apic: 1 });
    // How many vCPUs the kernel made can be read back on the model only.
    if (!target.real) expect((sys as KvmKernelModel).vm.vcpus.size).toBe(2);
  });

  it('a missing device is UNAVAILABLE, a forbidden one PERMISSION, with what to do', () => {
    let e: unknown;
    try {
      KvmPartition.create({ vcpus: 1, device: '/nonexistent/kvm', sys: target.newSyscalls() });
    } catch (err) {
      e = err;
    }
    expect(isVirtError(e, 'UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/ENOENT.*kvm_intel or kvm_amd.*kvm_pvm.*itself running as a PVM guest/);
    for (const errno of [EACCES, EPERM]) {
      const sys = new FaultInjector(target.newSyscalls()).fail('open', errno);
      // The hint is read from the node itself (owner, group, mode; see devicePermissionHint), so it names it.
      expect(() => KvmPartition.create({ vcpus: 1, sys })).toThrow(
        expect.objectContaining({ code: 'PERMISSION', message: expect.stringMatching(/\/dev\/kvm (could not be opened read-write|is \S+ \d{4})/) }),
      );
    }
  });

  it('dispose closes every fd, is idempotent, and later calls throw DISPOSED', () => {
    const baseline = target.openFdCount();
    const p = target.create();
    const irqfd = p.irqfd()!;
    const r = irqfd.newIrqFdRoute();
    r.setMsi(msiTo(0, 0x41).address, 0x41);
    r.unmask();
    p.dispose();
    const calls = target.sysOf(p).log.length;
    p[Symbol.dispose]();
    expect(target.sysOf(p).log.length).toBe(calls); // the second dispose closes nothing again
    expect(target.openFdCount()).toBe(baseline);
    expect(p.disposed).toBe(true);
    expect(r.disposed).toBe(true);
    expect(() => p.requestMsi(0xfee00000, 0x41)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => p.readLocalApic(0)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => irqfd.newIrqFdRoute()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => r.unmask()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });

  it('probe() reports KVM available with its capabilities', () => {
    const baseline = target.openFdCount();
    const p = probe({ sys: target.newSyscalls() });
    expect(p.available).toBe(true);
    expect(p.backend).toBe('kvm');
    expect(p.reason).toMatch(/\/dev\/kvm works/);
    expect(p.capabilities).toMatchObject({ backend: 'kvm', irqfd: 'kernel' });
    expect(target.openFdCount()).toBe(baseline);
  });

  it('probe() says what an x2APIC partition would reach, and an x2apic partition opens at that APIC ID', () => {
    const p = probe({ sys: target.newSyscalls() });
    // The default partition is an xAPIC one; the x2APIC one is told apart.
    expect(p.capabilities).toMatchObject({ x2apic: false, maxApicId: 0xfe });
    const ext = (() => {
      using one = target.create({ vcpus: 1 });
      return one.extensions;
    })();
    const x2 = p.x2apicPartition!;
    expect(x2).toEqual({ available: (ext.x2apicApiFlags & 3) === 3 && ext.maxVcpuId > 0xff, maxApicId: expect.any(Number), reason: expect.any(String) });
    if (!target.real) expect(x2).toMatchObject({ available: true, maxApicId: 4095, reason: expect.stringMatching(/APIC IDs up to 4095 \(KVM_CAP_MAX_VCPU_ID 4096\)/) });
    if (x2.available) {
      expect(x2.maxApicId).toBe(ext.maxVcpuId - 1);
      // What probe promises, create keeps: a vCPU at the largest APIC ID, read back from its local APIC.
      using wide = target.create({ vcpus: 1, x2apic: true, apicIds: [x2.maxApicId] });
      expect(wide.readLocalApic(0).apicId).toBe(x2.maxApicId);
      expect(wide.capabilities.maxApicId).toBe(x2.maxApicId);
    }
  });
});

describe('probe() x2APIC partition on a KVM model without it', () => {
  const full = { 0: 1, 9: 2, 25: 4096, 32: 1, 66: 2, 77: 1, 82: 1, 121: 1 };
  const probeWith = (caps: Record<number, number>) => probe({ sys: new KvmKernelModel({ apicIds: [0, 1], capabilities: { ...full, ...caps } }) });

  it('without KVM_CAP_X2APIC_API, or with one flag only: unavailable, naming what is missing, at the xAPIC limit', () => {
    for (const [flags, says] of [
      [0, /KVM_CAP_X2APIC_API .*is missing/],
      [1, /reports flags 1 only/],
    ] as const) {
      const p = probeWith({ 128: 4096, 129: flags });
      expect(p.available).toBe(true);
      expect(p.x2apicPartition).toEqual({ available: false, maxApicId: 0xfe, reason: expect.stringMatching(says) });
      // create agrees: an x2apic partition is UNSUPPORTED on this model.
      expect(() => KvmPartition.create({ vcpus: 1, x2apic: true, sys: new KvmKernelModel({ apicIds: [0], capabilities: { ...full, 128: 4096, 129: flags } }) })).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED' }),
      );
    }
  });

  it('where KVM does not offer the x2APIC CPUID bit (KVM_GET_SUPPORTED_CPUID leaf 1 ECX bit 21): unavailable, and create refuses before any VM exists', () => {
    for (const x2apic of [false, true]) {
      const p = probe({ sys: new KvmKernelModel({ apicIds: [0, 1], x2apic }) });
      expect(p.available).toBe(true);
      if (x2apic) expect(p.x2apicPartition).toMatchObject({ available: true });
      else expect(p.x2apicPartition).toEqual({ available: false, maxApicId: 0xfe, reason: expect.stringMatching(/KVM_GET_SUPPORTED_CPUID leaf 1 ECX bit 21 is clear/) });
      const model = new KvmKernelModel({ apicIds: [0, 0x100], x2apic });
      if (x2apic) {
        KvmPartition.create({ vcpus: 2, apicIds: [0, 0x100], x2apic: true, sys: model }).dispose();
        continue;
      }
      expect(() => KvmPartition.create({ vcpus: 2, apicIds: [0, 0x100], x2apic: true, sys: model })).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringMatching(/x2apic was asked for, but KVM does not offer x2APIC/) }),
      );
      expect({ vms: model.vms.length, open: model.openFds }).toEqual({ vms: 0, open: 0 });
    }
  });

  it('a failing KVM_GET_SUPPORTED_CPUID: create({ x2apic }) is a typed error with its errno before any VM exists; probe() names it as the reason', () => {
    const model = new KvmKernelModel({ apicIds: [0, 0x100] });
    const sys = new FaultInjector(model).fail('KVM_GET_SUPPORTED_CPUID', ENOMEM);
    expect(() => KvmPartition.create({ vcpus: 2, apicIds: [0, 0x100], x2apic: true, sys })).toThrow(
      expect.objectContaining({ code: 'SYSCALL', errnoName: 'ENOMEM', message: expect.stringMatching(/KVM_GET_SUPPORTED_CPUID/) }),
    );
    expect({ vms: model.vms.length, open: model.openFds }).toEqual({ vms: 0, open: 0 });
    const p = probe({ sys: new FaultInjector(new KvmKernelModel({ apicIds: [0, 1] })).fail('KVM_GET_SUPPORTED_CPUID', ENOMEM) });
    expect(p.x2apicPartition).toEqual({ available: false, maxApicId: 0xfe, reason: expect.stringMatching(/KVM_GET_SUPPORTED_CPUID failed with ENOMEM/) });
  });

  it('with KVM_CAP_MAX_VCPU_ID 255 or less: unavailable, no APIC ID above 0xFE; just above: available up to 255', () => {
    expect(probeWith({ 128: 200, 129: 3 }).x2apicPartition).toEqual({ available: false, maxApicId: 199, reason: expect.stringMatching(/KVM_CAP_MAX_VCPU_ID is 200/) });
    expect(probeWith({ 128: 255, 129: 3 }).x2apicPartition).toMatchObject({ available: false, maxApicId: 0xfe });
    expect(probeWith({ 128: 256, 129: 3 }).x2apicPartition).toMatchObject({ available: true, maxApicId: 255 });
  });
});
