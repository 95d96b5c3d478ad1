// A device model written against the contract only: it runs on KVM, mshv, WHP or the software
// backend, whichever Partition it is given.
const { encodeMsi, isVirtError } = require('@tsvmm/virt');

/**
 * Gives a device `vectors` interrupt routes, each aimed at vCPU `i % vcpus` with vector 0x40 + i,
 * ready to signal. All or nothing: if any route fails, those already made are disposed before the
 * error is thrown, so the caller never holds half a device.
 * @param {import('@tsvmm/virt').Partition} partition
 * @param {number} vectors
 * @returns {import('@tsvmm/virt').IrqFdRoute[]}
 */
function wireDevice(partition, vectors) {
  // Vectors 0x40 to 0xFF: 192 at most. Checked before anything is made.
  if (!Number.isInteger(vectors) || vectors < 0 || vectors > 0x100 - 0x40) {
    throw new RangeError(`vectors must be an integer from 0 to ${0x100 - 0x40}, got ${vectors}`);
  }
  const irqfd = partition.irqfd();
  if (!irqfd) throw new Error(`${partition.backend} has no irqfd: inject with partition.requestMsi instead`);
  console.log(`irqfd on ${partition.backend}: ${irqfd.capabilities.mechanism}`);
  // One routing-table commit for all of them, however many there are.
  return irqfd.batch(() => {
    const routes = [];
    try {
      for (let i = 0; i < vectors; i++) {
        const route = irqfd.newIrqFdRoute();
        routes.push(route);
        const msi = encodeMsi({ destinationId: i % partition.vcpuCount, vector: 0x40 + i });
        route.setMsi(msi.addressLo, msi.data);
        route.unmask();
      }
      return routes;
    } catch (e) {
      for (const route of routes) route.dispose();
      throw e;
    }
  });
}
// Hand routes[i].event.fd to VFIO (VFIO_DEVICE_SET_IRQS) or vhost (VHOST_SET_VRING_CALL),
// or call routes[i].event.signal() from an emulated device.

/**
 * The guest masked vector `i`, signalled it, and now reads its pending bit.
 * @param {import('@tsvmm/virt').IrqFdRoute} route
 * @returns {boolean}
 */
function pendingBit(route) {
  try {
    return route.consumePending();
  } catch (e) {
    if (isVirtError(e, 'DISPOSED')) return false;
    throw e;
  }
}

module.exports = { wireDevice, pendingBit };
