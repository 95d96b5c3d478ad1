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
  /** A bug in tsvmm: the message includes a stack trace to report. */
  Internal = 70,
}

export const EXIT_CODE_HELP = `Exit codes:
  0   success (demo: every observation was right)
  1   a check failed (a demo observation was wrong; a bench delivery or wait passed its
      deadline; bench --strict: a target was missed; bench --against: a run failed)
  2   usage error
  3   backend unavailable (e.g. /dev/kvm missing, not Windows)
  4   permission denied (e.g. /dev/kvm not accessible to this user)
  5   a hypervisor or system call failed
  73  an output file cannot be created or written (bench --json FILE, --report DIR); checked before the run
  70  internal error (a bug: please report it with the printed stack)`;
