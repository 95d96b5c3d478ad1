/**
 * The shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`), on every target: every pair of
 * system calls of every operation and batch shape failed together, the double faults that once
 * broke the ordering rules, disposal while the kernel keeps the irqfd assigned, seeded random
 * sequences with random failures, a route's event disposed behind its back, and coalesced
 * retargets. On the model every check reads the kernel back (its table, its irqfds, its hazards);
 * on a device what each route reports is checked against delivery, see ./support/fault-adapter,
 * and the parts that read IRR right after a relayed signal are left out (its relay's worker
 * thread injects later).
 */
import { defineIrqFdFaultSuite } from '@tsvmm/linux-sys/testing';
import { describeOnTargets } from './support/targets';

describeOnTargets('irqfd double faults', (target) => defineIrqFdFaultSuite(target.adapter, { relayDeliversLater: target.real }));
