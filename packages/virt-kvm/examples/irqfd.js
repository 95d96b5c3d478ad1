// Route an eventfd to vector 0x41 on vCPU 1, signal it as a device would, and see the vector in
// the vCPU's local APIC. Needs a readable and writable /dev/kvm.
const { encodeMsi } = require('@tsvmm/virt');
const { KvmPartition } = require('@tsvmm/virt-kvm');

const vm = KvmPartition.create({ vcpus: 2 });
try {
  const irqfd = vm.irqfd();
  if (!irqfd) throw new Error(`no irqfd: ${vm.capabilities.irqfdReason}`);
  console.log(`irqfd: ${irqfd.capabilities.mechanism}`);

  const route = irqfd.newIrqFdRoute();                 // masked, no MSI, owns an eventfd
  const msi = encodeMsi({ destinationId: 1, vector: 0x41 });
  route.setMsi(msi.addressLo, msi.data);               // KVM_SET_GSI_ROUTING
  route.unmask();                                      // KVM_IRQFD assign

  route.event.signal();                                // or hand route.event.fd to VFIO / vhost
  console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr); // [ 65 ]: injected inside the write()
  vm.clearIrr(1);

  route.mask();                                        // KVM_IRQFD deassign: signals latch
  route.event.signal();
  console.log('masked, IRR:', vm.readLocalApic(1).irr);   // []
  route.unmask();                                      // the latched signal is delivered once, now
  console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]

  const before = irqfd.commitCount;
  irqfd.batch(() => {                                  // N route changes, one KVM_SET_GSI_ROUTING
    for (let i = 0; i < 64; i++) {
      const m = encodeMsi({ destinationId: i % 2, vector: 0x50 + i });
      const r = irqfd.newIrqFdRoute();
      r.setMsi(m.addressLo, m.data);
      r.unmask();
    }
  });
  console.log(`64 routes programmed with ${irqfd.commitCount - before} commit`);
} finally {
  vm.dispose();                                        // routes, eventfds, vCPUs, VM: all released
}
