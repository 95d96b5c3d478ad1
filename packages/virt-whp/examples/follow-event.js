// A device model that follows its route's event: WHP replaces a route's event when the route is
// masked, unmasked or (without WHvUpdateTriggerParameters) retargeted, and announces each new
// event through onEventReplaced. Needs Windows x64 with the Windows Hypervisor Platform.
const { encodeMsi } = require('@tsvmm/virt');
const { WhpPartition } = require('@tsvmm/virt-whp');

async function main() {
  const vm = WhpPartition.create({ vcpus: 2 });         // ProcessorCount, xAPIC mode, setup, VPs
  try {
    const irqfd = vm.irqfd();                           // triggers; before Windows 10 20H2, the user-space relay

    const route = irqfd.newIrqFdRoute();                // masked, no MSI
    let deviceEvent = route.event;                      // what the device thread signals (SetEvent on .handle)
    route.onEventReplaced((e) => { deviceEvent = e; }); // told before the old handle is closed

    const msi = encodeMsi({ destinationId: 1, vector: 0x41 });
    route.setMsi(msi.addressLo, msi.data);
    route.unmask();                                     // WHvCreateTrigger: a new event, announced

    deviceEvent.signal();                               // the hypervisor injects it
    await vm.settle();                                  // delivery is asynchronous
    console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr);    // [ 65 ]
    vm.clearIrr(1);

    route.mask();                                       // WHvDeleteTrigger: the device now signals a latch
    deviceEvent.signal();
    await vm.settle();
    console.log('masked, IRR:', vm.readLocalApic(1).irr);   // []
    route.unmask();                                     // the latched signal is injected once
    console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]
  } finally {
    vm.dispose();                                       // every trigger deleted before its event is closed
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
