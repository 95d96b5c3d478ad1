/**
 * A VP's local APIC through MSHV_GET_VP_STATE / MSHV_SET_VP_STATE, in the hypervisor's own format
 * (read with the shared page reader of `@tsvmm/virt`, format {@link HV_LOCAL_APIC_PAGE}).
 *
 * The kernel wants one 4 KiB page at a 4 KiB-aligned address (else EINVAL), so the buffer comes
 * from a {@link UserMemory} and is reused for every read and write.
 */
import type { LocalApicState } from '@tsvmm/virt';
import { HV_LOCAL_APIC_PAGE, clearApicIrr, readApicPage, softwareEnableApic } from '@tsvmm/virt/implement';
import { type Syscalls, check } from '@tsvmm/linux-sys';
import { MSHV_VP_STATE_LAPIC, MSHV_VP_STATE_PAGE } from './abi';
import { encodeVpState, getVpState, setVpState } from './calls';
import type { PinnedBuffer, UserMemory } from './memory';

export class VpLapicPage {
  private readonly buffer: PinnedBuffer;
  private readonly arg: Uint8Array;

  constructor(private readonly memory: UserMemory) {
    this.buffer = memory.allocate(MSHV_VP_STATE_PAGE, MSHV_VP_STATE_PAGE);
    this.arg = encodeVpState(MSHV_VP_STATE_LAPIC, MSHV_VP_STATE_PAGE, this.buffer.address);
  }

  /** The page (the hypervisor's format at its start). */
  get bytes(): Uint8Array {
    return this.buffer.bytes;
  }

  read(sys: Syscalls, vpFd: number, operation: string): this {
    // The kernel writes the size it used into buf_sz: put ours back every time.
    this.arg.set(encodeVpState(MSHV_VP_STATE_LAPIC, MSHV_VP_STATE_PAGE, this.buffer.address));
    check(getVpState(sys, vpFd, this.arg), operation, 'ioctl(MSHV_GET_VP_STATE, LAPIC)');
    return this;
  }

  write(sys: Syscalls, vpFd: number, operation: string): void {
    this.arg.set(encodeVpState(MSHV_VP_STATE_LAPIC, MSHV_VP_STATE_PAGE, this.buffer.address));
    check(setVpState(sys, vpFd, this.arg), operation, 'ioctl(MSHV_SET_VP_STATE, LAPIC)');
  }

  state(): LocalApicState {
    return readApicPage(HV_LOCAL_APIC_PAGE, this.buffer.bytes);
  }

  /** Spurious-interrupt vector register = 0x1FF: fixed interrupts are accepted. */
  softwareEnable(): void {
    softwareEnableApic(HV_LOCAL_APIC_PAGE, this.buffer.bytes);
  }

  clearIrr(): void {
    clearApicIrr(HV_LOCAL_APIC_PAGE, this.buffer.bytes);
  }

  free(): void {
    this.memory.free(this.buffer);
  }
}
