// Open a PCI function by its address, as on a real host, but on the VFIO kernel model with a fake
// sysfs tree; then a refusal: a function bound to a host driver, with what to do about it.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { isVirtError } = require('@tsvmm/virt');
const { VfioDevice } = require('@tsvmm/vfio');
const { VfioKernelModel } = require('@tsvmm/vfio/testing');

const sys = new VfioKernelModel({ devices: [{ address: '0000:01:00.0', group: 7 }] });
const sysfs = mkdtempSync(join(tmpdir(), 'sysfs-'));
try {
  sys.writeSysfs(sysfs, [{ address: '0000:02:00.0', group: 8, driver: 'e1000e' }]);

  // On a real host: VfioDevice.open({ address: '0000:01:00.0' }).
  const device = VfioDevice.open({ address: '0000:01:00.0', sys, sysfs });
  console.log(`opened ${device.address}: group ${device.group}, ${device.path} path, ${device.info.numIrqs} interrupt indexes`);
  device.dispose();

  try {
    VfioDevice.open({ address: '0000:02:00.0', sys, sysfs });
  } catch (e) {
    if (!isVirtError(e)) throw e;
    console.log(`${e.code}: ${e.detail}`);
  }
  console.log('open fds:', sys.openFds, 'hazards:', sys.hazards);
} finally {
  rmSync(sysfs, { recursive: true, force: true });
}
