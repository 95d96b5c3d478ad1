/**
 * Which object owns a {@link VfioDevice}'s interrupt configuration and DMA mappings now (an
 * AssignedPciDevice). vfio-pci keeps one interrupt configuration per device fd, and the mappings
 * live in its container or IOAS: {@link VfioDevice.dispose} has the owner release them, in the
 * kernel's order, before it closes the fds, so every eventfd binding and mapping has exactly one
 * owner whichever is disposed first. Internal: not exported from the package.
 */
import type { VfioDevice } from './device';

const owners = new WeakMap<VfioDevice, () => void>();

/** Records `release` as what disposing `device` runs first; false (nothing changed) when another owner holds it. */
export function claimDevice(device: VfioDevice, release: () => void): boolean {
  if (owners.has(device)) return false;
  owners.set(device, release);
  return true;
}

/** Whether an owner holds `device`. */
export function isClaimed(device: VfioDevice): boolean {
  return owners.has(device);
}

/** Ends the claim on `device` (its owner released everything, or never got going). */
export function releaseClaim(device: VfioDevice): void {
  owners.delete(device);
}

/** Runs the owner's release, if any (it must end the claim and never throw). */
export function releaseOwner(device: VfioDevice): void {
  const release = owners.get(device);
  if (release === undefined) return;
  owners.delete(device);
  release();
}
