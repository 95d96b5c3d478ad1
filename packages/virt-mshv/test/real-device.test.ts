/**
 * On the real /dev/mshv (a Microsoft Hypervisor root partition): the partition, requestMsi, the
 * local APIC read, and the conformance suite, every delivery read back from the VP (IRR or the
 * register page's queued vectors). Skipped loudly, with the reason, where /dev/mshv is missing.
 */
import { readdirSync } from 'node:fs';
import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { encodeMsi } from '@tsvmm/virt';
import { EIO } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvPartition, abi, probe } from '../src';
import { HAVE_MSHV, RegisterPages, describeMshv, mshvObserver } from './mshv-env';

describeMshv('mshv on the real /dev/mshv', () => {
  if (!HAVE_MSHV) return;

  it('probe: available, kernel irqfd', () => {
    const p = probe();
    expect(p).toMatchObject({ backend: 'mshv', available: true, code: 'ok' });
    expect(p.capabilities).toMatchObject({ irqfd: 'kernel', resample: false, x2apic: false });
  });

  it('create: each VP has APIC ID = VP index and a software-enabled APIC in the hypervisor format', () => {
    using p = MshvPartition.create({ vcpus: 2 });
    for (let v = 0; v < 2; v++) expect(p.readLocalApic(v)).toMatchObject({ apicId: v, softwareEnabled: true });
  });

  it('requestMsi lands on the named VP (IRR or queued)', () => {
    using p = MshvPartition.create({ vcpus: 2 });
    const pages = new RegisterPages();
    try {
      const obs = mshvObserver(p, pages);
      obs.take(0);
      obs.take(1);
      const m = encodeMsi({ destinationId: 1, vector: 0x41 });
      expect(p.requestMsi(m.addressLo, m.data)).toBe(true);
      expect(obs.take(1)).toEqual([0x41]);
      expect(obs.take(0)).toEqual([]);
    } finally {
      pages.dispose();
    }
  });

  it('100 partitions with a delivering route, created and disposed, leave open fds at baseline', async () => {
    const fds = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 100; i++) {
      const p = MshvPartition.create({ vcpus: 1 });
      const r = p.irqfd()!.newIrqFdRoute();
      r.setMsi(0xfee00000, 0x41);
      r.unmask();
      r.event.signal();
      p.dispose();
      await p.whenClosed();
    }
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });

  const subject = (maxKernelRoutes?: number) => {
    const sys = new FaultInjector();
    const partition = MshvPartition.create({ vcpus: 2, sys, ...(maxKernelRoutes === undefined ? {} : { maxRoutes: 64, maxKernelRoutes }) });
    const irqfd = partition.irqfd()!;
    const pages = new RegisterPages();
    return {
      partition,
      observer: mshvObserver(partition, pages),
      // The kernel injects inside the eventfd write (fast path: queues it); overflow routes once the epoll worker has caught up.
      settle: () => irqfd.settle(),
      // The epoll worker injects from its own thread: look at IRR only after settle().
      waiterThread: true,
      failNextCommit: () => void sys.fail(abi.MSHV_SET_MSI_ROUTING, EIO),
      dispose: () => {
        pages.dispose();
        partition.dispose();
      },
    };
  };
  // 4095 GSIs: more than the overflow cases fill; the 4-GSI run below covers overflow.
  defineIrqFdConformance({ name: 'mshv (real /dev/mshv), 2 VPs', supports: { overflow: false }, create: () => subject() });
  defineIrqFdConformance({
    name: 'mshv (real /dev/mshv), 2 VPs, 4 GSIs: overflow relayed by the epoll worker',
    supports: { overflow: true },
    create: () => subject(4),
  });
});
