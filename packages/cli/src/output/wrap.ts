/**
 * Word wrapping for the text output: reasons from the probes are whole sentences, often several,
 * and must not become one line hundreds of columns wide.
 */

/** `text` broken at spaces into lines of at most `width` columns (a longer word stays whole), each after `indent`. */
export function wrapText(text: string, width: number, indent: string, firstIndent: string = indent): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}
