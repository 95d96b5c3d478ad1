/**
 * The root carries what a VMM author writing a device model or wiring a backend needs; implementor
 * helpers are on `/implement` only, so an application never reaches for them by accident.
 */
import * as root from '../src';
import * as implement from '../src/implement';

/** Names that left the root for `/implement`: runtime values only (types leave no runtime trace). */
const IMPLEMENTOR_ONLY = ['checkInteger', 'describeValue', 'SlotAllocator', 'partitionCapabilities', 'RelayIrqFd', 'RelayRouteTable', 'invalidArgument', 'disposedError', 'routeEventDisposed', 'exhaustedError', 'sameMsi', 'VIRT_ERROR_BRAND'];

test('the root exports exactly the contract, the MSI codec and the error guards', () => {
  expect(Object.keys(root).sort()).toEqual(
    ['DEFAULT_MSI_POLICY', 'IOAPIC_PINS', 'VirtError', 'decodeMsi', 'describeMsi', 'encodeMsi', 'hasIoApicAccess', 'hasLocalApicAccess', 'isVirtError', 'isVirtErrorCode', 'msiAddress', 'newLevelRoute', 'parseMsi', 'settleIrqFd', 'toMsiMessage', 'translateExtendedDestinationId', 'validateMsi'].sort(),
  );
});

test.each(IMPLEMENTOR_ONLY)('%s is on /implement and not on the root', (name) => {
  expect(name in root).toBe(false);
  expect((implement as Record<string, unknown>)[name]).toBeDefined();
});
