/**
 * The same device on the software backend: unit-test a device model's MSI-X without a hypervisor.
 * The emulated device here has no eventfd consumer, so it raises interrupts with `msix.signal(v)`.
 */
import { SoftwarePartition } from '@tsvmm/virt-software';
import { ExampleDevice, linuxDriverProgram } from './device';

export function main(): void {
  using vm = SoftwarePartition.create({ vcpus: 2 });
  using dev = new ExampleDevice(vm, 2);
  linuxDriverProgram(dev, [
    { apicId: 0, vector: 0x50 },
    { apicId: 1, vector: 0x51 },
  ]);
  dev.msix.signal(0);
  dev.msix.signal(1);
  console.log(`vCPU 0 IRR: [${vm.readLocalApic(0).irr.join(' ')}], vCPU 1 IRR: [${vm.readLocalApic(1).irr.join(' ')}]`);
}

if (require.main === module) main();
