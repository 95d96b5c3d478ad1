// Assign the model device to a guest on the KVM model: its MSI-X vector 0 is delivered by irqfd,
// straight from vfio-pci's eventfd into vCPU 1's local APIC. No /dev/vfio, /dev/kvm or device
// needed; on a real host the device comes from VfioDevice.open({ address }) and the partition
// from KvmPartition.create({ vcpus: 2 }).
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing');
const { AssignedPciDevice, VfioDevice } = require('@tsvmm/vfio');
const { VfioKernelModel, VfioModelBridge } = require('@tsvmm/vfio/testing');

const vfio = new VfioKernelModel({ devices: [{ address: '0000:01:00.0', group: 7 }] });
const kvm = new KvmKernelModel({ apicIds: [0, 1] });
const sys = new VfioModelBridge(vfio, kvm); // one process: vfio-pci signals the partition's eventfds
const partition = KvmPartition.create({ vcpus: 2, sys: kvm, irqfd: 'kernel' });
const sysfs = mkdtempSync(join(tmpdir(), 'sysfs-'));
vfio.writeSysfs(sysfs);
const device = VfioDevice.open({ address: '0000:01:00.0', sys, sysfs });
rmSync(sysfs, { recursive: true, force: true });
const irqfd = partition.irqfd(); // any backend with irqfd
if (!irqfd) throw new Error('the partition has no irqfd');

const assigned = AssignedPciDevice.create({
  device,
  irqfd,
  dma: [{ guestAddress: 0, hostAddress: 0x7f00_0000_0000n, size: 0x10_0000 }], // guest RAM the device may DMA to
  onError: (e) => console.log('error:', e.message),
});
const { msix, msixCapability } = assigned;
if (!msix || msixCapability === undefined) throw new Error('the device has no MSI-X');
const { tableBir, tableOffset } = msix.layout;
console.log(`MSI-X: ${msix.vectors} vectors, table in BAR ${tableBir}; BAR ${tableBir} mappable:`, assigned.bars[tableBir]?.mappable);

// What the guest's driver does: Memory Space and Bus Master on, MSI-X on, vector 0 to APIC 1 vector 0x45.
const dword = (v) => new Uint8Array(new Uint32Array([v]).buffer);
assigned.configWrite(0x04, 2, 0x0006);
assigned.configWrite(msixCapability + 2, 2, 0x8000);
assigned.barWrite(tableBir, tableOffset + 0, dword(0xfee01000));
assigned.barWrite(tableBir, tableOffset + 4, dword(0));
assigned.barWrite(tableBir, tableOffset + 8, dword(0x45));
assigned.barWrite(tableBir, tableOffset + 12, dword(0)); // unmask: vector 0's route event goes to VFIO_DEVICE_SET_IRQS
console.log('bound MSI-X vectors:', assigned.boundMsixVectors);

console.log('device raises vector 0:', sys.raiseMsix(0));
console.log('vCPU 1 IRR:', partition.readLocalApic(1).irr.map((v) => `0x${v.toString(16)}`));

assigned.dispose(); // unbinds the eventfds, disposes the routes, unmaps the DMA
device.dispose();
sys.dispose();
partition.dispose();
console.log('hazards:', vfio.hazards, kvm.hazards);
