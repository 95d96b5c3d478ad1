export { describeCCheck, misdeclared, requestNumbers } from './c-check-suite';
export type { CCheckSuiteOptions, Misdeclared } from './c-check-suite';
