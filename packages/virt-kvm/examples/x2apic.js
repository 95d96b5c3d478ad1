// An x2APIC partition on the KVM model (no /dev/kvm needed): vCPUs at APIC IDs 0, 255, 256 and
// 1000, a route to APIC ID 1000 by the upper MSI address, then by the extended destination ID a
// Linux guest writes, and a destination beyond the partition's reach.
const { encodeMsi, isVirtError } = require('@tsvmm/virt');
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing');

const apicIds = [0, 255, 256, 1000];
const vm = KvmPartition.create({ vcpus: apicIds.length, apicIds, x2apic: true, sys: new KvmKernelModel({ apicIds }) });
try {
  console.log('APIC IDs:', apicIds.map((_, i) => vm.readLocalApic(i).apicId).join(' '));
  console.log('maxApicId:', vm.capabilities.maxApicId); // KVM_CAP_MAX_VCPU_ID - 1
  const irqfd = vm.irqfd();
  if (irqfd === undefined) throw new Error('this kernel has neither irqfd nor KVM_SIGNAL_MSI');
  const route = irqfd.newIrqFdRoute();
  const m = encodeMsi({ destinationId: 1000, vector: 0x41 }); // bits 31:8 of the ID in addressHi
  route.setMsi((BigInt(m.addressHi) << 32n) | BigInt(m.addressLo), m.data);
  route.unmask();
  route.event.signal();
  console.log('vCPU 3 IRR:', vm.readLocalApic(3).irr);
  vm.clearIrr(3);
  // The extended destination ID: APIC ID bits 14:8 in address bits 11:5, moved to addressHi.
  const ext = (0xfee00000 | ((1000 & 0xff) << 12) | ((1000 >> 8) << 5)) >>> 0;
  route.setMsi(ext, 0x42);
  console.log('kept as:', JSON.stringify(route.msi));
  route.event.signal();
  console.log('vCPU 3 IRR:', vm.readLocalApic(3).irr);
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
