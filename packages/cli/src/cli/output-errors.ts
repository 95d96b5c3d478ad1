/**
 * What happens when the process's own output cannot be written. A closed pipe (`tsvmm demo | head`,
 * EPIPE) is the reader saying it has read enough: the output ends quietly with the exit code the
 * command would have had. Any other failure to write stdout (ENOSPC on `>/dev/full` or a full disk,
 * EIO, EBADF on a closed descriptor) lost output the user asked for: one line on stderr and
 * {@link ExitCode.IoError} (sysexits EX_IOERR). When stderr itself cannot be written, nothing can be
 * said: the exit code is all there is.
 */
import { ExitCode } from './exit-codes';

/** The process-wide effects of {@link onOutputError}: injectable, so that tests observe them. */
export interface OutputErrorEffects {
  /** Writes a line to stderr (may itself fail: a failure is ignored, there is nowhere left to say it). */
  readonly writeErr: (text: string) => void;
  /** Ends the process with this code. */
  readonly exit: (code: number) => void;
  /** The exit code set so far (`process.exitCode`), kept by a quiet end. */
  readonly pendingExitCode: () => number | undefined;
}

/** The errno name and its text from a Node.js system error: `ENOSPC: no space left on device`. */
function describe(e: NodeJS.ErrnoException): string {
  const text = e.message.replace(/, (write|writev)$/, '');
  return e.code && !text.startsWith(`${e.code}:`) ? `${e.code}: ${text}` : text;
}

/** Handles an `error` event of stdout (`stream: 'stdout'`) or stderr. */
export function onOutputError(stream: 'stdout' | 'stderr', e: NodeJS.ErrnoException, fx: OutputErrorEffects): void {
  if (e.code === 'EPIPE') {
    fx.exit(fx.pendingExitCode() ?? ExitCode.Ok);
    return;
  }
  if (stream === 'stdout') {
    try {
      fx.writeErr(`tsvmm: cannot write to stdout (${describe(e)}); the output is incomplete\n`);
    } catch {
      // stderr is gone too: the exit code still says it.
    }
  }
  fx.exit(ExitCode.IoError);
}
