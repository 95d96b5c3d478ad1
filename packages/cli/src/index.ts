export { main, COMMANDS } from './cli/main';
export { ExitCode } from './cli/exit-codes';
export type { CliHooks } from './cli/command';
export { type CliIo, memoryIo, processIo } from './cli/io';
export { probeAll, type ProbeReport } from './probe/backends';
export { runDemo, type DemoPartition, type DemoResult, type Observation } from './demo/run-demo';
export type { BenchResult, Metric } from './bench/result';
export { BACKENDS } from './backends/registry';
export type { BackendDescriptor, BackendOpenOptions, BackendProbeCode, CodedBackendProbe } from './backends/descriptor';
