/**
 * The shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`): every pair of system calls of
 * every operation and batch shape failed together, the double faults that once broke the ordering
 * rules, disposal while the kernel keeps the irqfd assigned, seeded random sequences with random
 * failures, and a route's event disposed behind its back. On the model every check reads the
 * kernel back (its table, its irqfds, its hazards); on a device what each route reports is checked
 * against delivery (IRR through KVM_GET_LAPIC, latched signals through consumePending), see
 * ./support/fault-adapter.
 */
import {
  irqFdDoubleFaultRegressionTests,
  irqFdEventDisposedTests,
  irqFdEveryPairTests,
  irqFdLingeringTests,
  irqFdRandomSequenceTests,
} from '@tsvmm/linux-sys/testing';
import { describeOnTargets } from './support/targets';

describeOnTargets('irqfd double faults', (target) => {
  describe('every pair of system calls of every operation fails', () => irqFdEveryPairTests(target.adapter));
  describe('double faults that once broke the ordering rules', () => irqFdDoubleFaultRegressionTests(target.adapter));
  describe('disposal while the kernel keeps the irqfd assigned', () => irqFdLingeringTests(target.adapter));
  // The relayed cases read IRR right after signalling a route the overflow relay delivers: on a
  // device the relay's worker thread injects later, after signal() has returned.
  describe("the route's event disposed behind its back", () => irqFdEventDisposedTests(target.adapter, { relayed: !target.real }));
  if (!target.real) describe('random sequences with random kernel failures (seeded)', () => irqFdRandomSequenceTests(target.adapter));
});
