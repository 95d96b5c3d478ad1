/**
 * What a guest driver does to an assigned function, as config and BAR accesses of the sizes Linux
 * uses (drivers/pci/msi/msi.c, docs/interfaces/pci-msix.md, docs/interfaces/pci-msi.md), plus log helpers for bodies that
 * assert the exact VFIO and KVM call sequence.
 */
import type { AssignedPciDevice } from '../../src';
import type { AssignedEnv } from './assigned-targets';

/** The model device's MSI-X capability offset (the helpers below use the device's own). */
export const MSIX_CAP = 0x50;
/** The model device's MSI capability offset. */
export const MSI_CAP = 0x40;
/** The model device's MSI-X table BAR. */
export const TABLE_BAR = 2;

/** An x86 MSI address for APIC ID `apic` (physical destination, docs/interfaces/msi-x86.md). */
export const msiAddress = (apic: number): number => (0xfee00000 | (apic << 12)) >>> 0;

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** A 32-bit guest write into BAR `bar`. */
export function mmioWrite32(dev: AssignedPciDevice, bar: number, offset: number, value: number): void {
  dev.barWrite(bar, offset, u32(value));
}

/** A 32-bit guest read of BAR `bar`. */
export function mmioRead32(dev: AssignedPciDevice, bar: number, offset: number): number {
  const b = new Uint8Array(4);
  dev.barRead(bar, offset, b);
  return new DataView(b.buffer).getUint32(0, true);
}

/** MSI-X Message Control (16-bit write at cap + 2): Enable bit 15, Function Mask bit 14. */
export function msixControl(dev: AssignedPciDevice, enable: boolean, functionMask: boolean): void {
  dev.configWrite(dev.msixCapability! + 2, 2, (enable ? 0x8000 : 0) | (functionMask ? 0x4000 : 0));
}

/** Programs table entry `v` as Linux does: mask, address, upper address, data, then unmask (or leave masked). */
export function programVector(dev: AssignedPciDevice, v: number, apic: number, vector: number, unmask = true): void {
  const { tableBir: bar, tableOffset } = dev.msix!.layout;
  const at = tableOffset + v * 16;
  mmioWrite32(dev, bar, at + 12, 1);
  mmioWrite32(dev, bar, at, msiAddress(apic));
  mmioWrite32(dev, bar, at + 4, 0);
  mmioWrite32(dev, bar, at + 8, vector);
  if (unmask) mmioWrite32(dev, bar, at + 12, 0);
}

/**
 * What a driver does before its first MSI-X interrupt: Memory Space and Bus Master on, MSI-X
 * enabled, then entry `v` programmed to `apic`/`vector` and unmasked.
 */
export function msixDriverUp(dev: AssignedPciDevice, v: number, apic: number, vector: number): void {
  dev.configWrite(0x04, 2, 0x0006);
  msixControl(dev, true, false);
  programVector(dev, v, apic, vector);
}

/** Vector Control of entry `v`: 1 masks, 0 unmasks. */
export function maskVector(dev: AssignedPciDevice, v: number, masked: boolean): void {
  const { tableBir: bar, tableOffset } = dev.msix!.layout;
  mmioWrite32(dev, bar, tableOffset + v * 16 + 12, masked ? 1 : 0);
}

/** The PBA's first QWORD's low DWORD (vectors 0-31). */
export function pba(dev: AssignedPciDevice): number {
  return mmioRead32(dev, dev.msix!.layout.pbaBir, dev.msix!.layout.pbaOffset);
}

/** Takes the log entries added since the last take. */
export function logTaker(env: AssignedEnv): { vfio(): string[] | undefined; kvm(): string[] | undefined } {
  return {
    vfio: () => (env.model ? env.model.bridge.vfioLog.splice(0) : undefined),
    kvm: () => (env.model ? env.model.kvmLog.splice(0) : undefined),
  };
}

/**
 * The delivery check of a step: the local APICs hold exactly `irr` (`vcpu:vector`, sorted) and,
 * where the target counts what they accepted (the model), exactly `count` interrupts arrived since
 * the last check, none lost and none duplicated; then the guest takes them all. `step` names the
 * step in a failure. The count starts when the check is made.
 */
export function deliveryCheck(env: AssignedEnv): (step: unknown, irr: string[], count: number) => void {
  let accepted = env.accepted() ?? 0;
  return (step, irr, count) => {
    expect({ step, irr: env.irr() }).toEqual({ step, irr });
    const now = env.accepted();
    if (now !== undefined) {
      expect({ step, delivered: now - accepted }).toEqual({ step, delivered: count });
      accepted = now;
    }
    env.ack();
  };
}

/** MSI-X on with vector 0 bound, masked and one interrupt pending; BAR 0 programmed. */
export function driverState(env: AssignedEnv, dev: AssignedPciDevice): void {
  dev.configWrite(0x04, 2, 0x0006);
  dev.configWrite(0x10, 4, 0xfebf0000);
  msixControl(dev, true, false);
  programVector(dev, 0, 0, 0x41);
  maskVector(dev, 0, true);
  env.raiseMsix(0);
  expect(pba(dev)).toBe(1);
}
