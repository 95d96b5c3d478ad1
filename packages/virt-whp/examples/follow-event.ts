/**
 * A device model that follows its route's event: WHP replaces a route's event when the route is
 * masked, unmasked or (without WHvUpdateTriggerParameters) retargeted, and announces each new
 * event through `onEventReplaced`. Needs Windows x64 with WHP, or a model of it through the
 * `library` test seam; `test/example.test.ts` runs it against the native model.
 */
import { encodeMsi, type Event } from '@tsvmm/virt';
import { WhpPartition, type WhpLibraryPaths } from '@tsvmm/virt-whp';

/** A device's interrupt line: it signals whatever event its route currently has. */
class DeviceIrq {
  private event: Event;
  constructor(event: Event) {
    this.event = event;
  }
  follow(next: Event): void {
    this.event = next; // from now on the device signals the new HANDLE
  }
  raise(): void {
    this.event.signal();
  }
}

export async function main(library?: WhpLibraryPaths): Promise<void> {
  using vm = WhpPartition.create({ vcpus: 2, library });
  const irqfd = vm.irqfd();
  if (!irqfd) throw new Error(`no interrupt triggers here: ${vm.capabilities.irqfdReason}`);

  const route = irqfd.newIrqFdRoute();
  const device = new DeviceIrq(route.event);
  route.onEventReplaced((e) => device.follow(e)); // called before the old handle is closed

  const msi = encodeMsi({ destinationId: 1, vector: 0x41 });
  route.setMsi(msi.addressLo, msi.data);
  route.unmask(); // WHvCreateTrigger: a new event, announced to the device

  device.raise();
  await vm.settle(); // delivery is asynchronous
  console.log('vCPU 1 IRR:', vm.readLocalApic(1).irr); // [ 65 ]
  vm.clearIrr(1);

  route.mask(); // WHvDeleteTrigger: the device now signals a latch event
  device.raise();
  await vm.settle();
  console.log('masked, IRR:', vm.readLocalApic(1).irr); // []
  route.unmask(); // the latched signal is injected once
  console.log('unmasked, IRR:', vm.readLocalApic(1).irr); // [ 65 ]
}

if (require.main === module) void main();
