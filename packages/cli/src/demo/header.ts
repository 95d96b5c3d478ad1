/**
 * The demo's first lines, which name the backend it runs on. One function prints them for every
 * backend and every way it was chosen (the best one here, a fallback, asked for by name), from the
 * selection alone: the rest of the demo's output is the same on every backend, and so is the shape
 * of this header.
 */
import { wrapText } from '../output/wrap';

/** The default width of the header: a long reason must not become one 600-column line. */
export const TEXT_WIDTH = 100;

/** Which backend the demo runs on and why: what the selection decided, as data. */
export interface DemoSelection {
  /** The backend's name, e.g. `kvm`. */
  readonly backend: string;
  /** Why it was chosen: one sentence. */
  readonly why: string;
  /** The backends passed over before it, each with its probe's reason; absent or empty when none was. */
  readonly passedOver?: readonly { readonly backend: string; readonly reason: string }[];
}

/**
 * The header's lines, at most `width` columns (default {@link TEXT_WIDTH}) where words allow. The first starts at the
 * margin with `Backend: <name>`: followed by `why` in parentheses, or, when backends were passed
 * over, by a short sentence and then each of them with its reason on lines indented by 4 (their
 * continuations by 6). A headline too long for one line continues on lines indented by 2.
 */
export function demoHeader(selection: DemoSelection, width = TEXT_WIDTH): string[] {
  const passedOver = selection.passedOver ?? [];
  const headline =
    passedOver.length === 0
      ? `Backend: ${selection.backend} (${selection.why})`
      : `Backend: ${selection.backend}, the first usable backend in order of preference. Not usable here:`;
  return [
    ...wrapText(headline, width, { first: '', rest: '  ' }),
    ...passedOver.flatMap((p) => wrapText(`${p.backend}: ${p.reason}`, width, { first: '    ', rest: '      ' })),
  ];
}
