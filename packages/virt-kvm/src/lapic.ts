/**
 * The local APIC of a vCPU as KVM_GET_LAPIC shows it (xAPIC register page), for tests and the demo.
 */
import type { LocalApicState } from '@tsvmm/virt';
import { type Syscalls, check } from '@tsvmm/linux-sys';
import * as kvm from './abi';
import * as calls from './calls';

const { LAPIC_ID, LAPIC_IRR, LAPIC_ISR, LAPIC_SVR, LAPIC_SVR_ENABLE, LAPIC_TMR, KVM_LAPIC_STATE } = kvm;

export class LapicPage {
  /**
   * `x2apicIds`: the vCPU is in x2APIC mode with KVM_X2APIC_API_USE_32BIT_IDS enabled, so the APIC ID
   * register holds the whole 32-bit ID (`kvm_apic_state_fixup`); otherwise the ID is in bits 31:24.
   */
  constructor(readonly x2apicIds = false) {}

  readonly bytes = new Uint8Array(KVM_LAPIC_STATE.size);
  readonly view = new DataView(this.bytes.buffer);

  read(sys: Syscalls, vcpuFd: number, operation: string): this {
    check(calls.getLapic(sys, vcpuFd, this.bytes), operation, 'ioctl(KVM_GET_LAPIC)');
    return this;
  }

  write(sys: Syscalls, vcpuFd: number, operation: string): void {
    check(calls.setLapic(sys, vcpuFd, this.bytes), operation, 'ioctl(KVM_SET_LAPIC)');
  }

  reg(offset: number): number {
    return this.view.getUint32(offset, true);
  }

  setReg(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
  }

  /** Vectors set in the 256-bit register at `base` (8 words, 16 bytes apart). */
  vectors(base: number): number[] {
    const out: number[] = [];
    for (let w = 0; w < 8; w++) {
      const bits = this.reg(base + w * 16);
      if (bits === 0) continue;
      for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(w * 32 + b);
    }
    return out;
  }

  state(): LocalApicState {
    return Object.freeze({
      apicId: this.x2apicIds ? this.reg(LAPIC_ID) : this.reg(LAPIC_ID) >>> 24,
      irr: Object.freeze(this.vectors(LAPIC_IRR)),
      isr: Object.freeze(this.vectors(LAPIC_ISR)),
      tmr: Object.freeze(this.vectors(LAPIC_TMR)),
      softwareEnabled: (this.reg(LAPIC_SVR) & LAPIC_SVR_ENABLE) !== 0,
    });
  }

  softwareEnable(): void {
    this.setReg(LAPIC_SVR, this.reg(LAPIC_SVR) | LAPIC_SVR_ENABLE);
  }

  clearIrr(): void {
    for (let w = 0; w < 8; w++) this.setReg(LAPIC_IRR + w * 16, 0);
  }
}
