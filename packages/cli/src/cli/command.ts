import type { LocalApicAccess, Partition } from '@tsvmm/virt';
import type { BackendDescriptor } from '../backends/descriptor';
import type { OptionSpec, ParsedOptions } from './args';
import type { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/**
 * Internal seams for tests; never set from the command line. A test injects a faulty partition
 * here to prove the demo catches a wrong observation.
 */
export interface CliHooks {
  /** Replaces the backend registry everywhere (probe, demo, bench): e.g. to act as a host without /dev/kvm. */
  readonly backends?: readonly BackendDescriptor[];
  /** Replaces the demo's partition (the demo still checks every observation against it). */
  readonly demoPartition?: () => { partition: Partition & LocalApicAccess; settle: () => Promise<void> };
}

export interface CommandContext {
  readonly io: CliIo;
  readonly hooks: CliHooks;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Paragraphs after the options in `--help`. */
  readonly details: string;
  readonly options: readonly OptionSpec[];
  /** Whether a failure should be reported as JSON on stdout (the command was given --json). */
  jsonErrors(opts: ParsedOptions): boolean;
  run(opts: ParsedOptions, ctx: CommandContext): Promise<ExitCode>;
}
