const { KvmPartition } = require('@tsvmm/virt-kvm');
const { SoftwarePartition } = require('@tsvmm/virt-software');
const { MsiEmulator, createIrqFdMsiRoutes } = require('@tsvmm/pci-core');

const haveKvm = require('node:fs').existsSync('/dev/kvm');
const vm = haveKvm ? KvmPartition.create({ vcpus: 2 }) : SoftwarePartition.create({ vcpus: 2 });
try {
  const irqfd = vm.irqfd();
  if (!irqfd) throw new Error(`no irqfd on ${vm.backend}: ${vm.capabilities.irqfdReason}`);
  // A function asking for 4 vectors, 64-bit address, per-vector masking: the 0x18-byte layout.
  const msi = new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true });
  const routes = createIrqFdMsiRoutes(irqfd, 4);          // one irqfd route (and eventfd) per vector
  msi.setRoutes(routes.routes, { batch: routes.batch });
  // Hand routes.irqfdRoutes[v].event.fd to VFIO_DEVICE_SET_IRQS (MSI index), vhost or a device thread.

  // Config-space exits inside the capability go to configWrite/configRead (offset - capOffset).
  msi.configWrite(0x10, 4, 0xf);                          // Mask Bits: all four masked (as Linux does)
  msi.configWrite(0x04, 4, 0xfee01000);                   // Message Address → APIC 1
  msi.configWrite(0x08, 4, 0);                            // Message Upper Address
  msi.configWrite(0x0c, 2, 0x40);                         // Message Data: vector k sends 0x40 + k
  msi.configWrite(0x02, 2, (2 << 4) | 1);                 // Multiple Message Enable = 2 (4 vectors), MSI Enable
  msi.configWrite(0x10, 4, 0b1011);                       // unmask vector 2

  routes.irqfdRoutes[2].event.signal();                   // the device raises vector 2: no trip through this code
  routes.irqfdRoutes[3].event.signal();                   // vector 3 is masked: it waits in Pending Bits
  const pending = msi.configRead(0x14, 4);
  console.log(`${vm.backend}: vCPU 1 IRR ${JSON.stringify(vm.readLocalApic(1).irr)}, Pending Bits 0x${pending.toString(16)}`);
} finally {
  vm.dispose();                                           // routes, eventfds, vCPUs, VM: all released
}
