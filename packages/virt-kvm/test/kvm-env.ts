/**
 * These tests run on the real /dev/kvm. Where it is missing they fail, unless TSVMM_ALLOW_NO_KVM=1,
 * in which case they are skipped with a warning naming /dev/kvm.
 */
import { existsSync, readdirSync } from 'node:fs';
import { type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { KvmPartition, type KvmPartitionOptions } from '../src';

export const HAVE_KVM = existsSync('/dev/kvm');

/** `describe` when /dev/kvm exists; otherwise a loud failure or (TSVMM_ALLOW_NO_KVM=1) a loud skip. */
export function describeKvm(name: string, fn: () => void): void {
  describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', name, fn);
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A fixed, physical, edge MSI to APIC ID `apicId`. */
export function msiTo(apicId: number, vector: number): { address: number; data: number; msi: MsiMessage } {
  const msi = encodeMsi({ destinationId: apicId, vector });
  return { address: msi.addressLo, data: msi.data, msi };
}

/** IRR of every vCPU, cleared after reading: `[[vcpu, vector], ...]`. */
export function takeIrr(p: KvmPartition): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let v = 0; v < p.vcpuCount; v++) {
    for (const vec of p.readLocalApic(v).irr) out.push([v, vec]);
    p.clearIrr(v);
  }
  return out;
}

export function create(options: Partial<KvmPartitionOptions> = {}): KvmPartition {
  return KvmPartition.create({ vcpus: 2, ...options });
}
