/**
 * The implementor-side way to program a route's MSI as three 32-bit words. The contract's
 * `IrqFdRoute.setMsi(address, data)` takes the 64-bit address as one number or bigint; an MSI-X
 * table holds it as two DWORDs, so a caller that has the halves (the MSI-X emulator) would join
 * them only for the route to split them again. A route that also offers {@link MsiHalvesRoute}
 * takes the halves as they are. It is optional: a caller detects it once ({@link msiHalvesOf}) and
 * falls back to `setMsi` for a route without it.
 */
import type { IrqFdRoute } from '../contract/irqfd';

/** A route that takes its MSI as 32-bit words, besides `setMsi(address, data)`. */
export interface MsiHalvesRoute {
  /**
   * `setMsi` with the address as its halves: the same checks (INVALID_ARGUMENT unless each word is
   * an integer from 0 to 0xFFFFFFFF, INVALID_MSI under the backend's policy), the same effect and
   * errors, the same message for `addressLo + addressHi * 2^32`.
   */
  setMsiHalves(addressLo: number, addressHi: number, data: number): void;
}

/**
 * `route` as an {@link MsiHalvesRoute} when it has a `setMsiHalves` method, else undefined. Looked
 * up once (the lookup itself may throw if `route` is a hostile object: the caller's own check
 * decides what that means).
 */
export function msiHalvesOf(route: IrqFdRoute): MsiHalvesRoute | undefined {
  const r = route as Partial<MsiHalvesRoute>;
  return typeof r.setMsiHalves === 'function' ? (route as unknown as MsiHalvesRoute) : undefined;
}
