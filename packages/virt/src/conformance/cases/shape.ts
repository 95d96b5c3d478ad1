/** The partition and its events have the shape the contract promises. */
import { check, checkEqual } from '../check';
import type { ConformanceCase } from './context';

export const shapeCases: readonly ConformanceCase[] = [
  {
    name: 'partition: shape, frozen capabilities, one irqfd object',
    async run({ subject, irqfd }) {
      const p = subject.partition;
      check(typeof p.backend === 'string' && p.backend.length > 0, 'backend must be a non-empty string');
      check(p.vcpuCount >= 2, `the suite needs at least 2 vCPUs, got ${p.vcpuCount}`);
      check(Object.isFrozen(p.capabilities), 'partition capabilities must be frozen');
      check(Object.isFrozen(irqfd.capabilities), 'irqfd capabilities must be frozen');
      check(p.irqfd() === irqfd, 'irqfd() must return the same object on every call');
      checkEqual(p.capabilities.irqfd, irqfd.capabilities.mediation, 'capabilities.irqfd vs irqfd().capabilities.mediation');
      check(irqfd.capabilities.maxRoutes > 0, 'maxRoutes must be positive');
      const ids = [0, 1].map((v) => subject.observer.apicId(v));
      check(ids[0] !== ids[1], `vCPUs 0 and 1 must have distinct APIC IDs, got ${ids.join(', ')}`);
    },
  },
  {
    name: 'delivery: the event is a distinct signalable object per route, with the raw fd/handle of its kind',
    async run({ irqfd }) {
      const a = irqfd.newIrqFdRoute();
      const b = irqfd.newIrqFdRoute();
      check(a.event !== b.event, 'routes must not share an event');
      for (const e of [a.event, b.event]) {
        if (e.kind === 'eventfd') check(Number.isInteger(e.fd) && e.fd! >= 0 && e.handle === undefined, 'an eventfd has an fd and no handle');
        else if (e.kind === 'win32-event') check(typeof e.handle === 'bigint' && e.fd === undefined, 'a Win32 event has a handle and no fd');
        else checkEqual(e.kind, 'in-process', 'event kind');
      }
      if (a.event.kind === 'eventfd') check(a.event.fd !== b.event.fd, 'distinct eventfds');
    },
  },
];
