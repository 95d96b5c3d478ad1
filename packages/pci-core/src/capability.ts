/**
 * The MSI-X capability's registers in config space (PCI Local Bus 3.0, section 6.8.2): Capability
 * ID, Next Pointer, Message Control (Table Size, Function Mask, Enable), Table Offset/BIR and PBA
 * Offset/BIR. Only Enable and Function Mask are writable.
 */
import { invalidArgument } from '@tsvmm/virt/implement';
import { MSIX_CAPABILITY_ID, MSIX_CAPABILITY_SIZE, MSIX_CONTROL_ENABLE, MSIX_CONTROL_FUNCTION_MASK, type MsixLayout } from './layout';

export function checkNextPointer(operation: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw invalidArgument(operation, `nextPointer must be a config-space offset from 0 to 0xFF, got ${String(value)}`);
  }
  return value;
}

export class MsixCapabilityRegisters {
  enable = false;
  functionMask = false;
  /** `enable && !functionMask`: the function may send (each vector still has its own Mask bit). */
  functionOpen = false;
  nextPointer: number;

  constructor(
    private readonly layout: MsixLayout,
    nextPointer: number,
  ) {
    this.nextPointer = nextPointer;
  }

  /** Sets Enable and Function Mask (the emulator drives the routes for the transition). */
  setControl(enable: boolean, functionMask: boolean): void {
    this.enable = enable;
    this.functionMask = functionMask;
    this.functionOpen = enable && !functionMask;
  }

  /** Bytes 1-4 at `offset`, little endian; bytes outside the capability, and other sizes, read 0. */
  read(offset: number, size: number): number {
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) return 0;
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.byte(offset + i) << (8 * i);
    return value >>> 0;
  }

  /**
   * The Enable and Function Mask a config write asks for, or undefined when it does not reach
   * Message Control's upper byte (+3, bits 7:6): everything else is read-only and dropped.
   */
  controlWrite(offset: number, size: number, value: number): readonly [enable: boolean, functionMask: boolean] | undefined {
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) return undefined;
    const i = 3 - offset;
    if (i < 0 || i >= size) return undefined;
    const byte = (value >>> (8 * i)) & 0xff;
    return [(byte & 0x80) !== 0, (byte & 0x40) !== 0];
  }

  /** The capability image: ID, next pointer, Message Control, Table and PBA offset/BIR. */
  private byte(i: number): number {
    if (i < 0 || i >= MSIX_CAPABILITY_SIZE) return 0;
    const l = this.layout;
    let dword: number;
    switch (i >>> 2) {
      case 0:
        dword =
          MSIX_CAPABILITY_ID |
          (this.nextPointer << 8) |
          ((l.vectors - 1) << 16) |
          (this.functionMask ? MSIX_CONTROL_FUNCTION_MASK << 16 : 0) |
          (this.enable ? MSIX_CONTROL_ENABLE << 16 : 0);
        break;
      case 1:
        dword = l.tableOffset | l.tableBir;
        break;
      default:
        dword = l.pbaOffset | l.pbaBir;
        break;
    }
    return (dword >>> (8 * (i & 3))) & 0xff;
  }
}
