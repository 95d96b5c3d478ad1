// Unit-test a device model's interrupts without a hypervisor: the software backend models each
// vCPU's local APIC, so you can assert which vector landed on which vCPU.
const { encodeMsi } = require('@tsvmm/virt');
const { SoftwarePartition } = require('@tsvmm/virt-software');

const partition = SoftwarePartition.create({ vcpus: 2 });
try {
  const irqfd = partition.irqfd();
  if (!irqfd) throw new Error('the software backend always has irqfd routes');

  const route = irqfd.newIrqFdRoute();
  const msi = encodeMsi({ destinationId: 1, vector: 0x41 }); // APIC ID 1, vector 0x41
  route.setMsi(msi.addressLo, msi.data);
  route.unmask();

  route.event.signal(); // what your device model does when it raises the interrupt
  console.log(partition.readLocalApic(1).irr); // [ 65 ]

  route.mask();
  route.event.signal(); // latched while masked
  console.log(route.consumePending()); // true: the pending bit a guest would read in the PBA
} finally {
  partition.dispose(); // routes, events: all released
}
