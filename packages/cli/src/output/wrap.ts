/**
 * Word wrapping for the text output: reasons from the probes are whole sentences, often several,
 * and must not become one line hundreds of columns wide.
 */
import wrapAnsi from 'wrap-ansi';

/** The indents of a wrapped paragraph: its first line's, and every following line's. */
export interface Indents {
  /** Before the first line (`''` for a line that starts at the margin). */
  readonly first: string;
  /** Before every line after the first. */
  readonly rest: string;
}

/**
 * `text` broken at spaces into lines of at most `width` columns (a longer word stays whole), the
 * first after `indents.first`, the others after `indents.rest`. Both indents are asked for: a
 * default for the first line would indent a heading that was meant to hang its continuation only.
 */
export function wrapText(text: string, width: number, indents: Indents): string[] {
  const columns = Math.max(1, width - Math.max(indents.first.length, indents.rest.length));
  const body = wrapAnsi(text.replace(/\s+/g, ' ').trim(), columns, { hard: false, trim: true, wordWrap: true });
  return body.split('\n').map((line, i) => (i === 0 ? indents.first : indents.rest) + line);
}

/** The width of plain text when the stream is not a terminal (a pipe, a file): the classic 80 columns. */
export const DEFAULT_TEXT_WIDTH = 80;

/**
 * The narrowest width text is wrapped to: below it, sentences would break after every word or two
 * and the term-and-text layouts would leave no room for the text. A narrower terminal folds the
 * longer lines itself.
 */
export const MIN_TEXT_WIDTH = 40;

/**
 * The columns human text may use on a stream: `COLUMNS` from the environment when it is a positive
 * whole number (the shell's convention, and how a user asks for another width), else the terminal's
 * width when the stream is one, else {@link DEFAULT_TEXT_WIDTH}; never less than {@link MIN_TEXT_WIDTH}.
 */
export function textWidth(env: Readonly<Record<string, string | undefined>>, isTTY: boolean, columns: number | undefined): number {
  const fromEnv = Number(env.COLUMNS);
  if (env.COLUMNS !== undefined && Number.isInteger(fromEnv) && fromEnv > 0) return Math.max(MIN_TEXT_WIDTH, fromEnv);
  if (isTTY && columns !== undefined && Number.isInteger(columns) && columns > 0) return Math.max(MIN_TEXT_WIDTH, columns);
  return DEFAULT_TEXT_WIDTH;
}

/**
 * One line of text wrapped to `width`: its leading spaces indent every line it becomes. A line laid
 * out as a term and its text (`  delivery  signal → vector ...`: indented, then two or more spaces
 * after the first word) hangs its continuations under the text; any other line hangs them `hang`
 * columns further in than its own indent. A line that fits is left exactly as it is; an empty line
 * stays empty.
 */
export function wrapLine(line: string, width: number, hang = 0): string[] {
  if (line.trim() === '') return [''];
  if (line.length <= width) return [line];
  const indent = /^ */.exec(line)![0];
  const term = /^( +\S+ {2,})\S/.exec(line);
  const rest = term ? ' '.repeat(term[1]!.length) : indent + ' '.repeat(hang);
  if (term) {
    const head = term[1]!;
    return wrapText(line.slice(head.length), width, { first: head, rest });
  }
  return wrapText(line.slice(indent.length), width, { first: indent, rest });
}

/** Every line of `text` through {@link wrapLine}; a final newline is kept. */
export function wrapBlock(text: string, width: number, hang = 0): string {
  const end = text.endsWith('\n');
  const body = (end ? text.slice(0, -1) : text).split('\n').flatMap((l) => wrapLine(l, width, hang));
  return `${body.join('\n')}${end ? '\n' : ''}`;
}
