import { textWidth, wrapBlock } from '../output/wrap';

/** Where a command writes: injectable, so tests can run commands in-process and capture both streams. */
export interface CliIo {
  /** Machine- or human-readable results. In `--json` mode, only JSON goes here. */
  out(text: string): void;
  /** Progress, warnings, errors. */
  err(text: string): void;
  /** stdout is a terminal: human text wraps to its width ({@link CliIo.outColumns}), else to 80 columns. */
  readonly outIsTTY?: boolean;
  /** Width of that terminal, in columns. */
  readonly outColumns?: number;
  /** stderr is a terminal: progress may redraw one line. */
  readonly errIsTTY: boolean;
  /** Width of that terminal: a redrawn line must fit in it, or `\r` only rewinds its last row. */
  readonly errColumns?: number;
  /** The environment the command reads (`process.env` for the real process). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The real process: stdout, stderr (with its TTY state and width) and `process.env`. */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    outIsTTY: process.stdout.isTTY === true,
    outColumns: process.stdout.columns,
    errIsTTY: process.stderr.isTTY === true,
    errColumns: process.stderr.columns,
    env: process.env,
  };
}

/** The columns human text may use on stdout: `COLUMNS`, else the terminal's width, else 80. */
export function outWidth(io: CliIo): number {
  return textWidth(io.env, io.outIsTTY === true, io.outColumns);
}

/** The columns human text may use on stderr, the same way. */
export function errWidth(io: CliIo): number {
  return textWidth(io.env, io.errIsTTY, io.errColumns);
}

/** Writes one message (a line, or a few) to stderr, wrapped to its width, ending in a newline. */
export function errText(io: CliIo, text: string): void {
  io.err(wrapBlock(text.endsWith('\n') ? text : `${text}\n`, errWidth(io), 2));
}

/** An io that records everything, for tests: not a TTY, with `env` as the environment (default empty). */
export function memoryIo(env: Record<string, string | undefined> = {}): CliIo & {
  /** Everything written with `out`, concatenated. */
  stdout: string;
  /** Everything written with `err`, concatenated. */
  stderr: string;
} {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    errIsTTY: false,
    env,
  };
  return io;
}
