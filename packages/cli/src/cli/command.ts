import type { LocalApicAccess, Partition } from '@tsvmm/virt';
import type { BackendDescriptor } from '../backends/descriptor';
import type { FileReadHost, FileReadUnavailable } from '../demo/file-read';
import type { X2apicHost } from '../demo/x2apic';
import type { PassthroughHost, PassthroughUnavailable } from '../demo/passthrough';
import type { VfioProbeOptions } from '../probe/vfio';
import type { OptionSpec, ParsedOptions } from './args';
import type { ExitCode, ExitCodeDoc } from './exit-codes';
import type { CliIo } from './io';

/**
 * Internal seams for tests; never set from the command line. A test injects a faulty partition
 * here to prove the demo catches a wrong observation.
 */
export interface CliHooks {
  /** Replaces the backend registry everywhere (probe, demo, bench): e.g. to act as a host without /dev/kvm. */
  readonly backends?: readonly BackendDescriptor[];
  /** Replaces the demo's partition (the demo still checks every observation against it). */
  readonly demoPartition?: () => {
    /** The partition the demo runs on. */
    partition: Partition & LocalApicAccess;
    /** Resolves once every signal raised so far was delivered or latched. */
    settle: () => Promise<void>;
  };
  /** Replaces the partition of the demo's file-read scene (real KVM, else the KVM model). */
  readonly fileReadHost?: () => FileReadHost | FileReadUnavailable;
  /** Replaces the partition of the demo's x2APIC scene (real KVM, else the KVM model, else the software backend). */
  readonly x2apicHost?: () => X2apicHost;
  /** Replaces the device and partition of the demo's passthrough scene (by default TSVMM_VFIO_DEVICE on /dev/kvm, else the VFIO and KVM models). */
  readonly passthroughHost?: () => PassthroughHost | PassthroughUnavailable;
  /** Where `tsvmm probe` looks for VFIO (sysfs and devfs roots, the system calls): a fake tree in tests. */
  readonly vfioProbe?: VfioProbeOptions;
}

/** What a command runs with: where it writes, and the test seams. */
export interface CommandContext {
  /** Where the command writes its results and its progress. */
  readonly io: CliIo;
  /** Test seams; `{}` from the command line. */
  readonly hooks: CliHooks;
}

/** One `tsvmm` command (`probe`, `demo`, `bench`): its help text, its options and what it runs. */
export interface Command {
  /** The word on the command line, e.g. `probe`. */
  readonly name: string;
  /** One line for the command list of `tsvmm --help`. */
  readonly summary: string;
  /** The usage line of its `--help`, e.g. `tsvmm probe [--json] [--backend <name>]`. */
  readonly usage: string;
  /**
   * Paragraphs after the options in `--help`, wrapped there to the terminal: lines are separate
   * paragraphs; an indented line of a term, two spaces and its text hangs its continuations under
   * the text.
   */
  readonly details: string;
  /** The exit codes it can end with, in the order its `--help` lists them, each with what it means for it. */
  readonly exitCodes: readonly ExitCodeDoc[];
  /** The options it accepts; anything else is a usage error. */
  readonly options: readonly OptionSpec[];
  /** Whether a failure should be reported as JSON on stdout (the command was given --json). */
  jsonErrors(opts: ParsedOptions): boolean;
  /** Runs the command with its parsed options; resolves to the exit code. May throw: `main` turns errors into exit codes. */
  run(opts: ParsedOptions, ctx: CommandContext): Promise<ExitCode>;
}
