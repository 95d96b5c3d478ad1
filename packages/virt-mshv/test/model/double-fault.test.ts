/**
 * The shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`) on the mshv kernel model: every
 * pair of system calls of every operation and batch shape failed together, seeded random sequences
 * with random failures, and the double faults that once broke the ordering rules, each checked
 * against the model's real state (see ./fault-adapter).
 */
import { defineIrqFdFaultSuite } from '@tsvmm/linux-sys/testing';
import { mshvFaultAdapter } from './fault-adapter';

defineIrqFdFaultSuite(mshvFaultAdapter);
