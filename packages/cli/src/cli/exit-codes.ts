/** Exit codes of `tsvmm`; documented in `tsvmm --help` and the README. Stable across versions. */
export enum ExitCode {
  /** Everything worked (demo: every observation was right). */
  Ok = 0,
  /**
   * The command ran but a check failed: a demo observation was wrong (or its backend never settled),
   * a bench measurement failed (a delivery not observed within its deadline), `bench --strict`
   * missed a target, or a run of `bench --against` failed.
   */
  Failed = 1,
  /** The command line was wrong. */
  Usage = 2,
  /** The backend asked for (or every hypervisor) is not available on this host. */
  Unavailable = 3,
  /** The backend is present but this user may not open it (e.g. /dev/kvm permissions). */
  Permission = 4,
  /** A hypervisor or system call failed unexpectedly. */
  BackendError = 5,
  /** An output file (bench --json FILE, --report DIR) cannot be written: the path is the user's to fix. */
  OutputError = 73,
  /**
   * stdout could not be written (a full disk, `>/dev/full`, EIO): the output is incomplete. sysexits'
   * EX_IOERR. A closed pipe (EPIPE) is not this: the output ends quietly.
   */
  IoError = 74,
  /** A bug in tsvmm: the message includes a stack trace to report. */
  Internal = 70,
}

/** One exit code as a `--help` lists it: the code, and what it means for that command. */
export interface ExitCodeDoc {
  /** The code. */
  readonly code: ExitCode;
  /** What it means, one sentence without its final period (wrapped to the terminal in `--help`). */
  readonly meaning: string;
}

/** Every exit code of `tsvmm`, as `tsvmm --help` lists them; each command's `--help` lists its own. */
export const EXIT_CODES: readonly ExitCodeDoc[] = [
  { code: ExitCode.Ok, meaning: 'success (demo: every observation was right)' },
  {
    code: ExitCode.Failed,
    meaning:
      'a check failed (a demo observation was wrong; a bench delivery or wait passed its deadline; bench --strict: a target was missed; bench --against: a run failed)',
  },
  { code: ExitCode.Usage, meaning: 'usage error' },
  { code: ExitCode.Unavailable, meaning: 'backend unavailable (e.g. /dev/kvm missing, not Windows)' },
  { code: ExitCode.Permission, meaning: 'permission denied (e.g. /dev/kvm not accessible to this user)' },
  { code: ExitCode.BackendError, meaning: 'a hypervisor or system call failed' },
  { code: ExitCode.OutputError, meaning: 'an output file cannot be created or written (bench --json FILE, --report DIR); checked before the run' },
  { code: ExitCode.IoError, meaning: 'stdout cannot be written (a full disk, >/dev/full): the output is incomplete; a closed pipe ends quietly instead' },
  { code: ExitCode.Internal, meaning: 'internal error (a bug: please report it with the printed stack)' },
];

/** The entry of `code` in {@link EXIT_CODES}, for a command whose meaning of it is the general one. */
export function exitCodeDoc(code: ExitCode): ExitCodeDoc {
  return EXIT_CODES.find((e) => e.code === code)!;
}

/** An `Exit codes:` block: one code a line, its meaning beside it (a term-and-text layout that wraps under the text). */
export function formatExitCodes(codes: readonly ExitCodeDoc[]): string {
  return ['Exit codes:', ...codes.map((e) => `  ${String(e.code).padEnd(2)}  ${e.meaning}`)].join('\n');
}
