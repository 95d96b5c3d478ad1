/**
 * Word wrapping for the text output: reasons from the probes are whole sentences, often several,
 * and must not become one line hundreds of columns wide.
 */
import wrapAnsi from 'wrap-ansi';

/**
 * `text` broken at spaces into lines of at most `width` columns (a longer word stays whole), the
 * first after `firstIndent`, the others after `indent`.
 */
export function wrapText(text: string, width: number, indent: string, firstIndent: string = indent): string[] {
  const columns = Math.max(1, width - Math.max(indent.length, firstIndent.length));
  const body = wrapAnsi(text.replace(/\s+/g, ' ').trim(), columns, { hard: false, trim: true, wordWrap: true });
  return body.split('\n').map((line, i) => (i === 0 ? firstIndent : indent) + line);
}
