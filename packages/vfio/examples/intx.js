// INTx through a level-triggered irqfd with resample: the partition's own level route on the
// IOAPIC pin's GSI (newLevelRoute of @tsvmm/virt; KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE). vfio-pci
// signals the route's event; the IOAPIC delivers; the guest's EOI resamples and vfio-pci unmasks by
// itself. Nothing in user space on the path. On the models; the guest's part is played through the
// partition (its IOAPIC entry, its local APIC, and its guestEoi(), which the KVM model offers since no guest code runs here).
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing');
const { AssignedPciDevice, VfioDevice } = require('@tsvmm/vfio');
const { VfioKernelModel, VfioModelBridge } = require('@tsvmm/vfio/testing');

const vfio = new VfioKernelModel({ devices: [{ address: '0000:01:00.0', group: 7 }] });
const kvm = new KvmKernelModel({ apicIds: [0] });
const sys = new VfioModelBridge(vfio, kvm);
const partition = KvmPartition.create({ vcpus: 1, sys: kvm, irqfd: 'kernel' });
const sysfs = mkdtempSync(join(tmpdir(), 'sysfs-'));
vfio.writeSysfs(sysfs);
const device = VfioDevice.open({ address: '0000:01:00.0', sys, sysfs });
rmSync(sysfs, { recursive: true, force: true });

const irqfd = partition.irqfd();
if (!irqfd) throw new Error('the partition has no irqfd');
// Without resample (partition.capabilities.resample false) create() throws UNSUPPORTED: use { mode: 'user-space', onLevel }.
console.log(`resample: ${partition.capabilities.resample}`);
const assigned = AssignedPciDevice.create({ device, irqfd, intx: { mode: 'irqfd', gsi: 10 } });
console.log(`Interrupt Pin ${assigned.intxPin} (INTA), INTx ${assigned.intxMode} on GSI ${assigned.intxRoute?.gsi}`);

// The guest programs IOAPIC pin 10: level-triggered, vector 0x61 to APIC ID 0.
partition.writeRedirection(10, { vector: 0x61, deliveryMode: 'fixed', destinationMode: 'physical', destination: 0, trigger: 'level', masked: false });
const show = (when) => {
  const pin = partition.readIoApic().pins[10];
  console.log(`${when}: line ${pin.asserted ? 1 : 0}, remote IRR ${pin.remoteIrr ? 1 : 0}, vCPU 0 IRR [${partition.readLocalApic(0).irr.map((v) => `0x${v.toString(16)}`).join(' ')}]`);
};
const guest = partition.guestEoi(); // GuestEoiAccess: offered on the KVM model only (no guest code runs here)
if (!guest) throw new Error('this partition cannot play the guest\'s EOI');
const eoi = () => {
  guest.eoi(0, 0x61); // the guest's EOI of 0x61 on vCPU 0
  sys.pump(); // the resample signal reaches vfio-pci, which unmasks
};

sys.assertIntx(); // the device raises INTx: vfio masks it and signals the route's event
show('device asserts');
eoi();
show('EOI, device still asserting');
vfio.deassertIntx(); // the guest's driver cleared the cause
eoi();
show('EOI after the driver cleared the cause');

assigned.dispose(); // INTx disabled in vfio, then the route deassigned (the line deasserted)
device.dispose();
sys.dispose();
partition.dispose();
console.log('hazards:', vfio.hazards);
