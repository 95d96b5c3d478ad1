/**
 * The KVM backend on the KVM model (no /dev/kvm needed): a kernel failure injected into an unmask,
 * then more vectors than the model has GSIs, the rest delivered by the overflow relay.
 * `test/example.test.ts` runs it and checks its output.
 */
import { encodeMsi } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type KvmIrqFd, KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel, modelRelayPlatform } from '@tsvmm/virt-kvm/testing';

export function main(): void {
  const model = new KvmKernelModel({ apicIds: [0, 1], maxRoutes: 40 + 2 }); // 2 GSIs beyond the legacy routes
  const sys = new FaultInjector(model);
  using vm = KvmPartition.create({ vcpus: 2, sys, overflow: modelRelayPlatform(model) });
  const irqfd = vm.irqfd() as KvmIrqFd; // the KVM irqfd: routes have `mediation` and `gsi`

  const routes = Array.from({ length: 3 }, () => irqfd.newIrqFdRoute());
  const [a] = routes;
  const m = encodeMsi({ destinationId: 1, vector: 0x41 });
  a!.setMsi(m.addressLo, m.data);
  sys.fail('KVM_IRQFD', 16 /* EBUSY */);
  try {
    a!.unmask();
  } catch (e) {
    console.log(`unmask failed: ${(e as { errnoName?: string }).errnoName}; masked: ${a!.masked}`);
  }
  a!.unmask();
  a!.event.signal();
  console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr); // [65]
  vm.clearIrr(1);

  irqfd.batch(() =>
    routes.forEach((r, i) => {
      const msi = encodeMsi({ destinationId: 0, vector: 0x50 + i });
      r.setMsi(msi.addressLo, msi.data);
      r.unmask();
    }),
  );
  console.log('mediation:', routes.map((r) => r.mediation).join(' '));
  for (const r of routes) r.event.signal();
  console.log('vCPU 0 IRR:', vm.readLocalApic(0).irr); // [80, 81, 82]: the third through the overflow relay
}

if (require.main === module) main();
