export { Rig, batch, clearMsi, dispose, mask, msiFor, setMsi, step, takeApicBusIrr, targetOf, unmask } from './harness';
export type { IrqFdFaultAdapter, IrqFdFaultKernel, IrrSnapshot, Spec, Target, Tracked } from './harness';
export { ERRNOS, T, countCalls, failPair, shapes } from './shapes';
export type { Shape } from './shapes';
export { defineIrqFdFaultSuite, irqFdDoubleFaultRegressionTests, irqFdEveryPairTests, irqFdLingeringTests, irqFdRandomSequenceTests } from './suite';
export { irqFdEventDisposedTests } from './event-disposed';
export type { EventDisposedOptions } from './event-disposed';
export { irqFdRetargetTests } from './retarget';
export type { IrqFdFaultSuiteOptions } from './suite';
