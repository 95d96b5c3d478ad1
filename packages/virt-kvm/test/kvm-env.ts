// Kept for test/route-budget.test.ts, which imports describeKvm from here; the helpers live in ./support/targets.
export { describeKvm } from './support/targets';
