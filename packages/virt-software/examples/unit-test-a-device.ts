// Unit-test a device model's interrupts without a hypervisor: the software backend models each
// vCPU's local APIC, so you can assert which vector landed on which vCPU.
import { encodeMsi } from '@tsvmm/virt';
import { SoftwarePartition } from '@tsvmm/virt-software';

using partition = SoftwarePartition.create({ vcpus: 2 });
const irqfd = partition.irqfd()!;

using route = irqfd.newIrqFdRoute();
const msi = encodeMsi({ destinationId: 1, vector: 0x41 }); // APIC ID 1, vector 0x41
route.setMsi(msi.addressLo, msi.data);
route.unmask();

route.event.signal(); // what your device model does when it raises the interrupt
console.log(partition.readLocalApic(1).irr); // [ 65 ]

route.mask();
route.event.signal(); // latched while masked
console.log(route.consumePending()); // true: the pending bit a guest would read in the PBA
