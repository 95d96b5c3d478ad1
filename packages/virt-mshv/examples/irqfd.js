// Route an eventfd to vector 0x41 on VP 1, signal it as a device would, and see the vector in the
// VP's local APIC, on the kernel model of /dev/mshv: same ioctls, same bytes, same errnos.
const { encodeMsi } = require('@tsvmm/virt');
const { MshvPartition } = require('@tsvmm/virt-mshv');
const { MshvKernelModel, modelRelayPlatform } = require('@tsvmm/virt-mshv/testing');

const model = new MshvKernelModel();                  // omit sys, memory and relayPlatform to use the real /dev/mshv
// overflow: routes beyond the kernel's 4095 GSIs are delivered from user space; on the model, by hypercall
const vm = MshvPartition.create({ vcpus: 2, sys: model, memory: model, relayPlatform: modelRelayPlatform(model) });
try {
  const irqfd = vm.irqfd();
  if (!irqfd) throw new Error(`no irqfd: ${vm.capabilities.irqfdReason}`);

  const route = irqfd.newIrqFdRoute();                // masked, no MSI, owns an eventfd
  const msi = encodeMsi({ destinationId: 1, vector: 0x41 });
  route.setMsi(msi.addressLo, msi.data);              // MSHV_SET_MSI_ROUTING (GSI 1)
  route.unmask();                                     // MSHV_IRQFD assign

  route.event.signal();                               // or hand route.event.fd to VFIO / vhost
  console.log('VP 1 IRR:', vm.readLocalApic(1).irr);  // [ 65 ], read with MSHV_GET_VP_STATE
  vm.clearIrr(1);

  route.mask();                                       // MSHV_IRQFD deassign: signals latch
  route.event.signal();
  console.log('masked, IRR:', vm.readLocalApic(1).irr);   // []
  route.unmask();                                     // the latched signal is delivered once, now
  console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]

  const fixed = encodeMsi({ destinationId: 0, vector: 0x52 });
  vm.requestMsi(fixed.addressLo, fixed.data);         // one MSI by hypercall (HvCallAssertVirtualInterrupt)
  console.log('VP 0 IRR:', vm.readLocalApic(0).irr);  // [ 82 ]
} finally {
  vm.dispose();
}
console.log('hazards:', model.hazards, 'open fds:', model.openFds()); // [] 0: nothing the real kernel would get wrong
