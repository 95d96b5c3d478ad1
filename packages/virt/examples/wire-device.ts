// A device model written against the contract only: it runs on KVM, mshv, WHP or the software
// backend, whichever Partition it is given.
import { type IrqFdRoute, type Partition, encodeMsi, isVirtError } from '@tsvmm/virt';

/** Gives a device `vectors` interrupt routes, each aimed at vCPU `i % vcpus`, ready to signal. */
export function wireDevice(partition: Partition, vectors: number): IrqFdRoute[] {
  const irqfd = partition.irqfd();
  if (!irqfd) throw new Error(`${partition.backend} has no irqfd: inject with partition.requestMsi instead`);
  console.log(`irqfd on ${partition.backend}: ${irqfd.capabilities.mechanism}`);
  // One routing-table commit for all of them, however many there are.
  return irqfd.batch(() =>
    Array.from({ length: vectors }, (_, i) => {
      const route = irqfd.newIrqFdRoute();
      const msi = encodeMsi({ destinationId: i % partition.vcpuCount, vector: 0x40 + i });
      route.setMsi(msi.addressLo, msi.data);
      route.unmask();
      return route;
    }),
  );
}
// Hand routes[i].event.fd to VFIO (VFIO_DEVICE_SET_IRQS) or vhost (VHOST_SET_VRING_CALL),
// or call routes[i].event.signal() from an emulated device.

/** The guest masked vector `i`, signalled it, and now reads its pending bit. */
export function pendingBit(route: IrqFdRoute): boolean {
  try {
    return route.consumePending();
  } catch (e) {
    if (isVirtError(e, 'DISPOSED')) return false;
    throw e;
  }
}
