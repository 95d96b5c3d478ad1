// INTx through user space, for a VMM with its own interrupt controller (KVM split irqchip, or no
// resample): vfio-pci signals the device's trigger eventfd; the VMM polls it, drives its IOAPIC
// input through onLevel, and calls intxEoi() on the guest's EOI. On the model, as in the example above.
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
const assigned = AssignedPciDevice.create({
  device,
  irqfd,
  // With resample (partition.capabilities.resample): { mode: 'irqfd', gsi: 10, newLevelRoute: (gsi) => irqfd.newLevelRoute(gsi) }.
  intx: { mode: 'user-space', onLevel: (level) => console.log(`IOAPIC pin 10 <- ${level ? 1 : 0}`) },
});
console.log(`Interrupt Pin ${assigned.intxPin} (INTA), INTx ${assigned.intxMode}`);

vfio.assertIntx(); // the device raises INTx: vfio masks it and signals the trigger
assigned.pollIntx(); // the VMM's epoll saw intxTrigger.fd readable
console.log('guest EOI while the device still asserts:');
assigned.intxEoi();
vfio.deassertIntx(); // the guest's driver cleared the cause
console.log('guest EOI after the driver cleared the cause:');
assigned.intxEoi();

assigned.dispose(); // INTx disabled in vfio, the trigger closed
device.dispose();
sys.dispose();
partition.dispose();
console.log('hazards:', vfio.hazards);
