// The KVM backend on the KVM model (no /dev/kvm needed): a kernel failure injected into an unmask,
// then more vectors than the model has GSIs, the rest delivered by the overflow relay.
const { encodeMsi, isVirtError } = require('@tsvmm/virt');
const { FaultInjector } = require('@tsvmm/linux-sys/testing');
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel, modelRelayPlatform } = require('@tsvmm/virt-kvm/testing');

const model = new KvmKernelModel({ apicIds: [0, 1], maxRoutes: 40 + 2 }); // 2 GSIs beyond the 40 legacy routes
const sys = new FaultInjector(model);
const vm = KvmPartition.create({ vcpus: 2, sys, relayPlatform: modelRelayPlatform(model) });
try {
  const irqfd = vm.irqfd();
  if (irqfd?.capabilities.mediation !== 'kernel') throw new Error('expected the kernel irqfd'); // its routes have `mediation` and `gsi`

  const a = irqfd.newIrqFdRoute();
  const routes = [a, irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
  const m = encodeMsi({ destinationId: 1, vector: 0x41 });
  a.setMsi(m.addressLo, m.data);
  sys.fail('KVM_IRQFD', 16 /* EBUSY */);                 // the next KVM_IRQFD fails
  try {
    a.unmask();
  } catch (e) {
    console.log(`unmask failed: ${isVirtError(e) ? e.errnoName : e}; masked: ${a.masked}`);
  }
  a.unmask();
  a.event.signal();
  console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr); // [ 65 ]
  vm.clearIrr(1);

  irqfd.batch(() =>
    routes.forEach((r, i) => {
      const msi = encodeMsi({ destinationId: 0, vector: 0x50 + i });
      r.setMsi(msi.addressLo, msi.data);
      r.unmask();
    }),
  );
  console.log('mediation:', routes.map((r) => r.mediation).join(' ')); // kernel kernel emulated
  for (const r of routes) r.event.signal();
  console.log('vCPU 0 IRR:', vm.readLocalApic(0).irr); // [ 80, 81, 82 ]: the third through the overflow relay
  console.log('hazards:', model.hazards);              // []: nothing that would crash a real host
} finally {
  vm.dispose();
}
