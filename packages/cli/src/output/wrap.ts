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
