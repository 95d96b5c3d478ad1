/**
 * Route an eventfd to vector 0x41 on VP 1, signal it as a device would, and see the vector in the
 * VP's local APIC, on the kernel model of /dev/mshv (pass `{ device: true }` to use the real one
 * on a Microsoft Hypervisor root partition). `test/example.test.ts` runs it and checks its output.
 */
import { encodeMsi } from '@tsvmm/virt';
import { MshvPartition, type MshvPartitionOptions } from '@tsvmm/virt-mshv';
import { MshvKernelModel, modelRelayPlatform } from '@tsvmm/virt-mshv/testing';

export function main(options: { device?: boolean } = {}): MshvKernelModel | undefined {
  // The model stands behind the system-call seam: same ioctls, same bytes, same errnos.
  const model = options.device ? undefined : new MshvKernelModel();
  const seam: Partial<MshvPartitionOptions> = model ? { sys: model, memory: model, relayPlatform: modelRelayPlatform(model) } : {};
  using vm = MshvPartition.create({ vcpus: 2, ...seam });
  const irqfd = vm.irqfd()!;
  console.log(`irqfd: ${irqfd.capabilities.mechanism}`);

  const route = irqfd.newIrqFdRoute();
  const msi = encodeMsi({ destinationId: vm.readLocalApic(1).apicId, vector: 0x41 });
  route.setMsi(msi.addressLo, msi.data); // MSHV_SET_MSI_ROUTING (GSI 1)
  route.unmask(); // MSHV_IRQFD assign

  // A device (VFIO, vhost, a device thread) writes route.event.fd; here we signal it ourselves.
  route.event.signal();
  console.log('VP 1 IRR:', vm.readLocalApic(1).irr.map((v) => `0x${v.toString(16)}`)); // [ '0x41' ]
  vm.clearIrr(1);

  // Masking never loses an interrupt: the signal latches in the eventfd and unmask delivers it once.
  route.mask();
  route.event.signal();
  console.log('masked, IRR:', vm.readLocalApic(1).irr); // []
  route.unmask();
  console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]

  // One MSI from user space, by hypercall (HvCallAssertVirtualInterrupt).
  const fixed = encodeMsi({ destinationId: 0, vector: 0x52 });
  vm.requestMsi(fixed.addressLo, fixed.data);
  console.log('VP 0 IRR:', vm.readLocalApic(0).irr); // [ 82 ]

  // N changes, one MSHV_SET_MSI_ROUTING.
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
  if (model) console.log('hazards the kernel would have hit:', model.hazards.length); // 0
  return model;
}
