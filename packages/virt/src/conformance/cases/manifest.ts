/** The backend's declared manifest agrees with its live capabilities. */
import { check, checkEqual } from '../check';
import type { ConformanceCase } from './context';

export const manifestCases: readonly ConformanceCase[] = [
  {
    name: 'manifest: what the backend declares matches its live capabilities',
    async run({ subject, irqfd, manifest, declared }) {
      const live = {
        stableEvent: irqfd.capabilities.stableEvent,
        routingTable: irqfd.capabilities.routingTable,
        mediation: irqfd.capabilities.mediation,
        resample: subject.partition.capabilities.resample,
        guestEoi: typeof subject.eoi === 'function',
        x2apic: subject.partition.capabilities.x2apic,
      };
      for (const key of Object.keys(live) as Array<keyof typeof live>) {
        if (declared.includes(key)) checkEqual(live[key], manifest[key], `supports.${key} (declared) vs the live capabilities`);
      }
      if (manifest.overflow) {
        // Overflow needs fewer kernel routes than routes; whether the relay takes over beyond them is what the overflow cases prove.
        const { maxKernelRoutes: k, maxRoutes } = irqfd.capabilities;
        check(
          typeof k === 'number' && Number.isInteger(k) && k >= 1 && k < maxRoutes,
          `supports.overflow is declared, but irqfd.capabilities.maxKernelRoutes (${String(k)}) is not a number of kernel routes below maxRoutes (${maxRoutes})`,
        );
      }
    },
  },
];
