import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isVirtError } from '@tsvmm/virt';
import { EACCES, EPERM, O_CLOEXEC } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { KvmPartition, probe } from '../src';
import { create, describeKvm, msiTo, openFdCount, takeIrr } from './kvm-env';

describeKvm('KvmPartition on the real /dev/kvm', () => {
  it('creates a VM with an irqchip, vCPUs with APIC IDs 0..n-1 and software-enabled APICs, and frozen capabilities', () => {
    using p = create();
    expect(p.backend).toBe('kvm');
    expect(p.vcpuCount).toBe(2);
    expect(Object.isFrozen(p.capabilities)).toBe(true);
    expect(p.capabilities).toMatchObject({ backend: 'kvm', irqfd: 'kernel', irqfdReason: '', x2apic: false });
    expect(p.irqfd()!.capabilities.maxKernelRoutes).toBe(p.extensions.irqRouting - 40);
    expect(p.capabilities.maxRoutes).toBe(p.irqfd()!.capabilities.maxRoutes);
    expect(p.capabilities.maxVcpus).toBeGreaterThanOrEqual(2);
    for (const v of [0, 1]) {
      const s = p.readLocalApic(v);
      expect(s).toEqual({ apicId: v, irr: [], isr: [], softwareEnabled: true });
    }
    expect(readlinkSync(`/proc/self/fd/${p.vmFd}`)).toBe('anon_inode:kvm-vm');
    expect(readlinkSync(`/proc/self/fd/${p.vcpuFd(1)}`)).toMatch(/^anon_inode:kvm-vcpu/);
  });

  it('every fd it opens is close-on-exec (/dev/kvm, VM, vCPUs, eventfds; epoll and control eventfd for the relay)', async () => {
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
      const p = create({ irqfd: mode });
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
    using p = create();
    expect(p.requestMsi(msiTo(1, 0x61).address, 0x61)).toBe(true);
    expect(takeIrr(p)).toEqual([[1, 0x61]]);
    expect(p.requestMsi(BigInt(msiTo(0, 0x62).address), 0x62)).toBe(true);
    expect(takeIrr(p)).toEqual([[0, 0x62]]);
    expect(takeIrr(p)).toEqual([]);
  });

  it('requestMsi rejects bad messages before any ioctl', () => {
    const sys = new FaultInjector();
    using p = create({ sys });
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
    expect(takeIrr(p)).toEqual([]);
  });

  it('clearIrr clears only IRR', () => {
    using p = create();
    p.requestMsi(msiTo(0, 0x41).address, 0x41);
    p.requestMsi(msiTo(0, 0xe0).address, 0xe0);
    expect(p.readLocalApic(0).irr).toEqual([0x41, 0xe0]);
    p.clearIrr(0);
    expect(p.readLocalApic(0)).toMatchObject({ irr: [], softwareEnabled: true, apicId: 0 });
  });

  it('rejects bad options', () => {
    for (const vcpus of [0, -1, 1.5, 256, '2']) {
      expect(() => KvmPartition.create({ vcpus: vcpus as number })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => KvmPartition.create({ vcpus: 2, irqfd: 'fast' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => KvmPartition.create(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('a missing device is UNAVAILABLE, a forbidden one PERMISSION, with what to do', () => {
    let e: unknown;
    try {
      KvmPartition.create({ vcpus: 1, device: '/nonexistent/kvm' });
    } catch (err) {
      e = err;
    }
    expect(isVirtError(e, 'UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/ENOENT.*kvm_intel or kvm_amd/);
    for (const errno of [EACCES, EPERM]) {
      const sys = new FaultInjector().fail('open', errno);
      expect(() => KvmPartition.create({ vcpus: 1, sys })).toThrow(expect.objectContaining({ code: 'PERMISSION', message: expect.stringMatching(/kvm group/) }));
    }
  });

  it('a failure at any step of create closes everything it opened', async () => {
    const probeSys = new FaultInjector();
    KvmPartition.create({ vcpus: 2, sys: probeSys }).dispose();
    const steps = probeSys.log.filter((r) => r.call !== 'close').length;
    const baseline = openFdCount();
    let failures = 0;
    for (let step = 0; step < steps; step++) {
      const sys = new FaultInjector().failStep(step, 12 /* ENOMEM */);
      try {
          const p = KvmPartition.create({ vcpus: 2, sys });
          p.dispose();
          await p.whenClosed(); // a failed capability check gives the relay, whose worker exits asynchronously
        } catch (e) {
          expect(isVirtError(e)).toBe(true);
          failures++;
        }
        expect(openFdCount()).toBe(baseline);
      }
      // KVM_CHECK_EXTENSION failures count as "absent" rather than errors; every other step fails create.
      expect(failures).toBeGreaterThan(6);
    });

    it('dispose closes every fd, is idempotent, and later calls throw DISPOSED', () => {
      const baseline = openFdCount();
      const p = create();
      const irqfd = p.irqfd()!;
      const r = irqfd.newIrqFdRoute();
      r.setMsi(msiTo(0, 0x41).address, 0x41);
      r.unmask();
      p.dispose();
      p[Symbol.dispose]();
      expect(openFdCount()).toBe(baseline);
      expect(p.disposed).toBe(true);
      expect(r.disposed).toBe(true);
      expect(() => p.requestMsi(0xfee00000, 0x41)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      expect(() => p.readLocalApic(0)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      expect(() => irqfd.newIrqFdRoute()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      expect(() => r.unmask()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    });

    it('probe() reports KVM available with its capabilities', () => {
      const p = probe();
      expect(p.available).toBe(true);
      expect(p.backend).toBe('kvm');
      expect(p.reason).toMatch(/\/dev\/kvm works/);
      expect(p.capabilities).toMatchObject({ backend: 'kvm', irqfd: 'kernel' });
    });
  });
