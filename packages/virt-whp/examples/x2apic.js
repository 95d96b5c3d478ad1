// An x2APIC partition: WHP gives VP i APIC ID i, so 257 vCPUs reach APIC ID 256. A route to it by
// the upper MSI address, then by the extended destination ID a Linux guest writes, and a
// destination beyond the partition's reach. Needs Windows x64 with the Windows Hypervisor Platform.
const { encodeMsi, isVirtError } = require('@tsvmm/virt');
const { WhpPartition } = require('@tsvmm/virt-whp');

async function main() {
  const vm = WhpPartition.create({ vcpus: 257, x2apic: true }); // LocalApicEmulationMode X2Apic
  try {
    console.log('vCPU 256 APIC ID:', vm.readLocalApic(256).apicId);
    console.log('maxApicId:', vm.capabilities.maxApicId);         // the highest VP index
    const route = vm.irqfd().newIrqFdRoute();
    const m = encodeMsi({ destinationId: 256, vector: 0x41 });    // bits 31:8 of the ID in addressHi
    route.setMsi((BigInt(m.addressHi) << 32n) | BigInt(m.addressLo), m.data);
    route.unmask();
    route.event.signal();
    await vm.settle();                                            // delivery is asynchronous
    console.log('vCPU 256 IRR:', vm.readLocalApic(256).irr);
    vm.clearIrr(256);
    // The extended destination ID: APIC ID bits 14:8 in address bits 11:5, moved to addressHi.
    const ext = (0xfee00000 | ((256 & 0xff) << 12) | ((256 >> 8) << 5)) >>> 0;
    route.setMsi(ext, 0x42);
    console.log('kept as:', JSON.stringify(route.msi));
    route.event.signal();
    await vm.settle();
    console.log('vCPU 256 IRR:', vm.readLocalApic(256).irr, 'vCPU 0 IRR:', vm.readLocalApic(0).irr);
    const beyond = encodeMsi({ destinationId: vm.capabilities.maxApicId + 1, vector: 0x43 });
    try {
      vm.requestMsi((BigInt(beyond.addressHi) << 32n) | BigInt(beyond.addressLo), beyond.data);
    } catch (e) {
      if (!isVirtError(e)) throw e;
      console.log(e.code, e.detail.split(':')[0]);
    }
  } finally {
    vm.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
