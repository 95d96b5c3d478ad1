/**
 * Route an eventfd to vector 0x41 on vCPU 1, signal it as a device would, and see the vector in
 * the vCPU's local APIC. Needs /dev/kvm; `test/example.test.ts` runs it and checks its output.
 */
import { encodeMsi } from '@tsvmm/virt';
import { KvmPartition } from '@tsvmm/virt-kvm';

export function main(): void {
  using vm = KvmPartition.create({ vcpus: 2 });
  const irqfd = vm.irqfd()!;
  console.log(`irqfd: ${irqfd.capabilities.mechanism}`);

  const route = irqfd.newIrqFdRoute();
  const msi = encodeMsi({ destinationId: vm.readLocalApic(1).apicId, vector: 0x41 });
  route.setMsi(msi.addressLo, msi.data);
  route.unmask();

  // A device (VFIO, vhost, a device thread) writes route.event.fd; here we signal it ourselves.
  route.event.signal();
  console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr.map((v) => `0x${v.toString(16)}`)); // [ '0x41' ]
  vm.clearIrr(1);

  // Masking never loses an interrupt: the signal latches and unmask delivers it once.
  route.mask();
  route.event.signal();
  console.log('masked, IRR:', vm.readLocalApic(1).irr); // []
  route.unmask();
  console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]

  // N changes, one KVM_SET_GSI_ROUTING.
  const before = irqfd.commitCount;
  const routes = irqfd.batch(() =>
    Array.from({ length: 64 }, (_, i) => {
      const r = irqfd.newIrqFdRoute();
      const m = encodeMsi({ destinationId: i % 2, vector: 0x50 + i });
      r.setMsi(m.addressLo, m.data);
      r.unmask();
      return r;
    }),
  );
  console.log(`${routes.length} routes programmed with ${irqfd.commitCount - before} commit`);
}

if (require.main === module) main();
