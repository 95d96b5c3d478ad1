// A level-triggered INTx line: the event asserts IOAPIC pin 10, the guest's EOI deasserts it and
// signals resample, and the device re-asserts only if it still needs service.
const { newLevelRoute } = require('@tsvmm/virt');
const { SoftwarePartition } = require('@tsvmm/virt-software');

const partition = SoftwarePartition.create({ vcpus: 2 });
try {
  const irqfd = partition.irqfd();
  if (!irqfd) throw new Error('the software backend always has an irqfd');
  const line = newLevelRoute(irqfd, 10);
  // What the guest's IOAPIC driver writes: pin 10, level-triggered, vector 0x61, to APIC ID 1.
  partition.writeRedirection(10, { vector: 0x61, deliveryMode: 'fixed', destinationMode: 'physical', destination: 1, trigger: 'level', masked: false });

  line.event.signal(); // the device asserts INTx
  console.log(partition.readLocalApic(1).irr, partition.readIoApic().pins[10].remoteIrr); // [ 97 ] true

  partition.eoi(1, 0x61); // the guest's handler ends with an EOI (only a model can play it)
  console.log(line.resample.consume(), partition.readIoApic().pins[10].asserted); // 1 false
} finally {
  partition.dispose(); // the level route too
}
