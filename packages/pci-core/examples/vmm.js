const { KvmPartition } = require('@tsvmm/virt-kvm');
const { SoftwarePartition } = require('@tsvmm/virt-software');
const { MsixEmulator, createIrqFdMsixRoutes, partitionInjector } = require('@tsvmm/pci-core');

const haveKvm = require('node:fs').existsSync('/dev/kvm');
const vm = haveKvm ? KvmPartition.create({ vcpus: 2 }) : SoftwarePartition.create({ vcpus: 2 });
try {
  const irqfd = vm.irqfd();
  if (!irqfd) throw new Error(`no irqfd on ${vm.backend}: ${vm.capabilities.irqfdReason}`);
  const msix = new MsixEmulator({ vectors: 4, table: { bir: 0, offset: 0x2000 }, pba: { bir: 0, offset: 0x3000 }, requestMsi: partitionInjector(vm) });
  const routes = createIrqFdMsixRoutes(irqfd, 4);          // one irqfd route (and eventfd) per vector
  msix.setRoutes(routes.routes, { batch: routes.batch });  // a guest's whole MSI-X setup: one commit
  // Hand routes.irqfdRoutes[v].event.fd to VFIO_DEVICE_SET_IRQS, vhost or a device thread.

  // Your MMIO exit handler forwards BAR accesses; the emulator handles any size or offset, never throws.
  const mmioWrite = (bar, offset, bytes) => msix.claims(bar, offset, bytes.length) && msix.write(bar, offset, bytes);
  const le32 = (v) => new Uint8Array(new Uint32Array([v]).buffer);
  mmioWrite(0, 0x2000 + 16, le32(0xfee01000));             // vector 1: address → APIC 1
  mmioWrite(0, 0x2000 + 16 + 8, le32(0x41));               //           data → vector 0x41
  mmioWrite(0, 0x2000 + 16 + 12, le32(0));                 //           unmask
  msix.configWrite(2, 2, 0x8000 | 3);                      // guest sets MSI-X Enable in config space

  routes.irqfdRoutes[1].event.signal();                    // the device signals: no trip through this code
  console.log(`${vm.backend}: vCPU 1 IRR ${JSON.stringify(vm.readLocalApic(1).irr)}`);
} finally {
  vm.dispose();                                            // routes, eventfds, vCPUs, VM: all released
}
