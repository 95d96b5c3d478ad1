/**
 * The MSI-X emulator on the real /dev/kvm: a guest-style driver programs 4 vectors, the device
 * signals their eventfds (as VFIO would, with no trip through the VMM), and each vector shows up
 * in the IRR of the vCPU its message names. `test/examples.test.ts` runs it and checks the output.
 */
import { KvmPartition } from '@tsvmm/virt-kvm';
import { ExampleDevice, linuxDriverProgram } from './device';

export function main(): void {
  using vm = KvmPartition.create({ vcpus: 2 });
  const irqfd = vm.irqfd()!;
  console.log(`irqfd: ${irqfd.capabilities.mediation}`);
  using dev = new ExampleDevice(vm, 4);
  const targets = [0, 1, 2, 3].map((v) => ({ apicId: vm.readLocalApic(v % 2).apicId, vector: 0x40 + v }));
  const commits = irqfd.commitCount;
  linuxDriverProgram(dev, targets);
  console.log(`programmed 4 vectors with ${irqfd.commitCount - commits} routing commits`);

  for (let v = 0; v < 4; v++) dev.eventFor(v)!.signal(); // the device side (VFIO writes the eventfd)
  for (let cpu = 0; cpu < 2; cpu++) {
    console.log(`vCPU ${cpu} IRR: ${vm.readLocalApic(cpu).irr.map((x) => `0x${x.toString(16)}`).join(' ')}`);
    vm.clearIrr(cpu);
  }

  // Mask vector 1, signal it: the PBA shows it pending, nothing reaches the guest.
  const ctrl1 = 0x2000 + 16 + 12;
  dev.mmioWrite(0, ctrl1, Uint8Array.of(1, 0, 0, 0));
  dev.eventFor(1)!.signal();
  const pba = new Uint8Array(4);
  dev.mmioRead(0, 0x3000, pba);
  console.log(`masked: PBA 0x${pba[0]!.toString(16)}, vCPU 1 IRR: [${vm.readLocalApic(1).irr.join(' ')}]`);
  // Unmask: delivered once.
  dev.mmioWrite(0, ctrl1, Uint8Array.of(0, 0, 0, 0));
  dev.mmioRead(0, 0x3000, pba);
  console.log(`unmasked: PBA 0x${pba[0]!.toString(16)}, vCPU 1 IRR: ${vm.readLocalApic(1).irr.map((x) => `0x${x.toString(16)}`).join(' ')}`);
}

if (require.main === module) main();
