/**
 * An application that uses tsvmm, bundled by `bundle.test.ts` with esbuild into one file (koffi
 * external) and run from a folder where no tsvmm package can be resolved. Every relay thread it
 * starts must therefore come from the bundle itself. It prints one JSON line per check.
 *
 * argv[2]: `everywhere` (any Linux host) or `kvm` (needs /dev/kvm). TSVMM_WHP_MODEL: path of the
 * WHP model library (built from packages/virt-whp/native/whp_model.c without trigger exports).
 */
import { closeSync, openSync } from 'node:fs';
import { type IrqFd, type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { RelayIrqFd } from '@tsvmm/virt/implement';
import { EpollRelayPlatform, type InjectorSpec, recordInjector } from '@tsvmm/linux-sys';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { kvmRelayInjector } from '@tsvmm/virt-kvm/implement';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { MshvPartition } from '@tsvmm/virt-mshv';
import { mshvIrqFdBackend } from '@tsvmm/virt-mshv/implement';
import { MshvKernelModel, modelRelayPlatform as mshvModelRelay } from '@tsvmm/virt-mshv/testing';
import { WhpPartition } from '@tsvmm/virt-whp';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { MsixEmulator, createIrqFdMsixRoutes, partitionInjector } from '@tsvmm/pci-core';

const report = (check: string, result: unknown): void => console.log(JSON.stringify({ check, result }));

/** Routes `msi` on `irqfd`, signals it and waits until it was delivered or latched. */
async function signalled(irqfd: IrqFd, msi: MsiMessage): Promise<void> {
  const r = irqfd.newIrqFdRoute();
  r.setMsi(msi.addressLo, msi.data);
  r.unmask();
  r.event.signal();
  await irqfd.settle();
}

/** A relay whose worker injects with `injector`: [delivered, failed] after one signal. */
async function relayOnce(injector: InjectorSpec): Promise<[number, number]> {
  const irqfd = new RelayIrqFd({
    backend: 'bundle',
    maxRoutes: 2,
    policy: { addressHi: 'reject', backend: 'bundle' },
    inject: () => true,
    reason: 'bundled program',
    platform: (t) => new EpollRelayPlatform(t, { injector }),
  });
  await signalled(irqfd, encodeMsi({ destinationId: 1, vector: 0x41 }));
  const out: [number, number] = [irqfd.table.delivered(0), irqfd.table.failed(0)];
  irqfd.dispose();
  await irqfd.whenClosed();
  return out;
}

async function everywhere(): Promise<void> {
  // The epoll relay's worker, started from the bundle, injecting into a shared record.
  const rec = new SharedArrayBuffer(16);
  report('epoll worker, record injector: [delivered, failed], injections', [...(await relayOnce(recordInjector(rec))), Atomics.load(new Int32Array(rec), 0)]);

  // The KVM and mshv worker injectors (mshv's with its hypercall input buffer) built in the worker
  // from the bundle; issued on /dev/null, where the ioctl fails (ENOTTY) and is counted as failed.
  const devNull = openSync('/dev/null', 'r');
  try {
    report('epoll worker, KVM_SIGNAL_MSI spec on /dev/null: [delivered, failed]', await relayOnce(kvmRelayInjector(devNull)));
    const mshv = mshvIrqFdBackend({ sys: new MshvKernelModel(), partitionFd: devNull, vcpuCount: 2, inject: () => true });
    report('epoll worker, mshv MSHV_ROOT_HVCALL spec on /dev/null: [delivered, failed]', await relayOnce(mshv.workerInjector));
  } finally {
    closeSync(devNull);
  }

  // mshv overflow routes on the kernel model: the spec the worker gets, run through the model.
  {
    const model = new MshvKernelModel();
    const p = MshvPartition.create({ vcpus: 2, sys: model, memory: model, relayPlatform: mshvModelRelay(model), maxKernelRoutes: 1 });
    const irqfd = p.irqfd()!;
    await signalled(irqfd, encodeMsi({ destinationId: 0, vector: 0x30 }));
    await signalled(irqfd, encodeMsi({ destinationId: 1, vector: 0x77, triggerMode: 'level' }));
    report('mshv model, overflow route: IRR of vCPU 0 and 1', [p.readLocalApic(0).irr, p.readLocalApic(1).irr]);
    p.dispose();
  }

  // KVM (kernel model) and the software backend under pci-core's MSI-X emulation.
  for (const [name, vm] of [
    ['kvm model', KvmPartition.create({ vcpus: 2, sys: new KvmKernelModel({ apicIds: [0, 1] }), irqfd: 'kernel' })],
    ['software', SoftwarePartition.create({ vcpus: 2 })],
  ] as const) {
    const msix = new MsixEmulator({ vectors: 2, table: { bir: 0, offset: 0x2000 }, pba: { bir: 0, offset: 0x3000 }, requestMsi: partitionInjector(vm) });
    const routes = createIrqFdMsixRoutes(vm.irqfd()!, 2);
    msix.setRoutes(routes.routes, { batch: routes.batch });
    const le32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
    msix.write(0, 0x2000 + 16, le32(0xfee01000));
    msix.write(0, 0x2000 + 16 + 8, le32(0x42));
    msix.write(0, 0x2000 + 16 + 12, le32(0));
    msix.configWrite(2, 2, 0x8000 | 1);
    routes.irqfdRoutes[1]!.event.signal();
    await vm.irqfd()!.settle();
    report(`${name} with pci-core MSI-X: IRR of vCPU 1`, vm.readLocalApic(1).irr);
    vm.dispose();
  }

  // The WHP relay's waiter thread, started from the bundle, on the model library.
  const whpModel = process.env.TSVMM_WHP_MODEL;
  if (whpModel) {
    const p = WhpPartition.create({ vcpus: 2, library: { whp: whpModel, kernel32: whpModel } });
    try {
      await signalled(p.irqfd(), encodeMsi({ destinationId: 1, vector: 0x51 }));
      report('whp model without triggers (relay waiter): mediation, IRR of vCPU 1', [p.capabilities.irqfd, p.readLocalApic(1).irr]);
    } finally {
      p.dispose();
    }
  }
}

async function kvm(): Promise<void> {
  for (const mode of ['kernel', 'relay'] as const) {
    const vm = KvmPartition.create({ vcpus: 2, irqfd: mode });
    try {
      await signalled(vm.irqfd()!, encodeMsi({ destinationId: vm.readLocalApic(1).apicId, vector: 0x41 }));
      report(`kvm ${mode}: mediation, IRR of vCPU 1`, [vm.capabilities.irqfd, vm.readLocalApic(1).irr]);
    } finally {
      vm.dispose();
    }
  }
}

(process.argv[2] === 'kvm' ? kvm() : everywhere()).then(
  () => report('done', true),
  (e: unknown) => {
    report('error', e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);
