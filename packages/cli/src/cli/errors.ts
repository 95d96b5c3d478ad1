/**
 * What the command line reports for people: expected conditions (no /dev/kvm, bad options) are
 * one line on stderr and a documented exit code; only a broken invariant prints a stack trace.
 */
import { isVirtError } from '@tsvmm/virt';
import { ExitCode } from './exit-codes';

/** The `schema` of the error document `--json` prints on stdout when a command fails. */
export const ERROR_SCHEMA = 'tsvmm-error/1';

/** A wrong command line: exit 2 with the message and a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

/** JSON error codes of the CLI's own failures, beside VirtError's codes. */
export type CliErrorCode = 'USAGE' | 'FAILED' | 'UNAVAILABLE' | 'PERMISSION' | 'OUTPUT' | 'INTERNAL';

const CODE_OF_EXIT: Partial<Record<ExitCode, CliErrorCode>> = {
  [ExitCode.Failed]: 'FAILED',
  [ExitCode.Usage]: 'USAGE',
  [ExitCode.Unavailable]: 'UNAVAILABLE',
  [ExitCode.Permission]: 'PERMISSION',
  [ExitCode.OutputError]: 'OUTPUT',
  [ExitCode.Internal]: 'INTERNAL',
};

/** An expected failure with its own exit code (e.g. a backend asked for by name is missing). */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  /** The JSON error code (`--json`): given, or the one that goes with the exit code. */
  readonly code: string;
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    code?: string,
  ) {
    super(message);
    this.code = code ?? CODE_OF_EXIT[exitCode] ?? 'FAILED';
  }
}

export interface ReportedError {
  readonly exitCode: ExitCode;
  /** One line (or a few) for stderr. */
  readonly message: string;
  /** For `--json`: a machine-readable form. */
  readonly json: { readonly code: string; readonly message: string; readonly exitCode: number };
}

export function reportError(e: unknown): ReportedError {
  if (e instanceof UsageError) {
    const cmd = e.command ? `tsvmm ${e.command}` : 'tsvmm';
    const message = `${cmd}: ${e.message}. Run '${cmd} --help' for usage.`;
    return { exitCode: ExitCode.Usage, message, json: { code: 'USAGE', message, exitCode: ExitCode.Usage } };
  }
  if (e instanceof CliFailure) {
    return { exitCode: e.exitCode, message: e.message, json: { code: e.code, message: e.message, exitCode: e.exitCode } };
  }
  if (isVirtError(e)) {
    const exitCode =
      e.code === 'UNAVAILABLE' || e.code === 'UNSUPPORTED'
        ? ExitCode.Unavailable
        : e.code === 'PERMISSION'
          ? ExitCode.Permission
          : e.code === 'INTERNAL'
            ? ExitCode.Internal
            : ExitCode.BackendError;
    return { exitCode, message: e.message, json: { code: e.code, message: e.message, exitCode } };
  }
  const message = `internal error, please report it: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  return { exitCode: ExitCode.Internal, message, json: { code: 'INTERNAL', message, exitCode: ExitCode.Internal } };
}
