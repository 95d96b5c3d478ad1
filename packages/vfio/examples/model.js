// The VFIO calls on the VFIO kernel model (no /dev/vfio or device needed): open a device through
// its container and group, bind an eventfd to MSI-X vector 0, let the device raise it, read the
// eventfd, and close everything, leaving no hazard behind.
const { vfioAbi, vfioCalls } = require('@tsvmm/vfio');
const { VfioKernelModel } = require('@tsvmm/vfio/testing');

const MSIX = vfioAbi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX;
const sys = new VfioKernelModel({ devices: [{ address: '0000:01:00.0', group: 7, msixVectors: 4 }] });

const container = sys.open('/dev/vfio/vfio', 2);
const group = sys.open('/dev/vfio/7', 2);
console.log('group flags:', vfioCalls.groupGetStatus(sys, group)); // 1: viable
vfioCalls.groupSetContainer(sys, group, container);
vfioCalls.setIommu(sys, container, vfioAbi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU);
const device = vfioCalls.groupGetDeviceFd(sys, group, '0000:01:00.0');
const msix = vfioCalls.deviceGetIrqInfo(sys, device, MSIX); // the info, or -errno
if (typeof msix === 'number') throw new Error(`VFIO_DEVICE_GET_IRQ_INFO failed: errno ${-msix}`);
console.log('MSI-X vectors:', msix.count);

const event = sys.eventfd(0, 0);
console.log('SET_IRQS:', vfioCalls.setIrqs(sys, device, MSIX, 'trigger', 0, { eventfds: [event] }));
console.log('device raises vector 0:', sys.raiseMsix(0));
const counter = new Uint8Array(8);
sys.read(event, counter, 8);
console.log('eventfd counter:', new DataView(counter.buffer).getBigUint64(0, true));

vfioCalls.setIrqs(sys, device, MSIX, 'trigger', 0, { none: 0 }); // disable MSI-X before closing
for (const fd of [event, device, group, container]) sys.close(fd);
console.log('hazards:', sys.hazards);
