/**
 * Progress on stderr while the bench runs: one redrawn line on a terminal, plain lines otherwise
 * (CI logs), nothing when silenced. Lines that stay wrap to stderr's width; the redrawn one is cut.
 */
import { type CliIo, errWidth } from '../cli/io';
import { wrapBlock } from '../output/wrap';

export interface Progress {
  /** A new step starts: `[3/9] delivery: irqfd vs raw write`. */
  step(label: string): void;
  /** Progress inside the step (redrawn on a terminal; throttled to every quarter otherwise). */
  update(done: number, total: number, note?: string): void;
  /** A line that stays (a result or a warning). */
  note(text: string): void;
  done(): void;
}

export function createProgress(io: CliIo, totalSteps: number, enabled = true): Progress {
  let step = 0;
  let label = '';
  let lastQuarter = -1;
  let open = false;
  let started = 0;
  const tty = io.errIsTTY;
  const width = Math.max(20, (io.errColumns ?? 80) - 1);
  /** A line that stays, wrapped to stderr's width (its continuations 2 columns in). */
  const line = (text: string): void => io.err(wrapBlock(`${text}\n`, errWidth(io), 2));
  /** The redrawn line, cut to the terminal's width (a wrapped line could not be erased). */
  const redraw = (text: string): void => {
    io.err(text.length > width ? `${text.slice(0, width - 1)}…` : text);
    open = true;
  };
  const clear = (): void => {
    if (tty && open) io.err('\r\x1b[2K');
    open = false;
  };
  /** On a terminal the redrawn line of a finished step is replaced by a permanent one. */
  const finish = (): void => {
    if (!tty || step === 0 || !open) return;
    clear();
    line(`[${step}/${totalSteps}] ${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  if (!enabled) return { step() {}, update() {}, note() {}, done() {} };
  return {
    step(l) {
      finish();
      clear();
      started = Date.now();
      step++;
      label = l;
      lastQuarter = -1;
      if (tty) {
        redraw(`[${step}/${totalSteps}] ${label}`);
      } else {
        line(`[${step}/${totalSteps}] ${label}`);
      }
    },
    update(done, total, note) {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (tty) {
        clear();
        // The figures first, so that a cut keeps them.
        redraw(`[${step}/${totalSteps}] ${pct}%${note ? ` (${note})` : ''}: ${label}`);
        return;
      }
      const quarter = Math.floor(pct / 25);
      if (quarter > lastQuarter && quarter < 4) {
        lastQuarter = quarter;
        if (quarter > 0) io.err(`    ${pct}%${note ? ` (${note})` : ''}\n`);
      }
    },
    note(text) {
      clear();
      line(text);
    },
    done() {
      finish();
      clear();
    },
  };
}
