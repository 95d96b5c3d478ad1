export * as abi from './abi';
export * from './calls';
export { koffiMemory } from './memory';
export type { PinnedBuffer, UserMemory } from './memory';
