/**
 * Command-line options through `node:util`'s `parseArgs` (strict: unknown options, missing values
 * and stray positional arguments are usage errors, never silently ignored), plus the one thing it
 * lacks: number-valued options, checked here.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { UsageError } from './errors';

/** One command-line option of a {@link Command}. */
export interface OptionSpec {
  /** The long name, without the dashes (`json` for `--json`). */
  readonly name: string;
  /** Its value: a flag, a string, or a number (checked; a non-number is a usage error). */
  readonly type: 'boolean' | 'string' | 'number';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Shown in help as `--name <valueName>`. */
  readonly valueName?: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Hidden from `--help`: internal or test-only. */
  readonly hidden?: boolean;
}

/** Parsed options by long name: a boolean for flags, a string or number for valued options, undefined when not given. */
export type ParsedOptions = Record<string, string | number | boolean | undefined>;

export function parseArgs(command: string, argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const options = Object.fromEntries(
    specs.map((s) => [s.name, { type: s.type === 'boolean' ? ('boolean' as const) : ('string' as const), ...(s.short ? { short: s.short } : {}) }]),
  );
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    // Node's own sentence (first line: the rest suggests `--` tricks that do not apply here).
    throw new UsageError(command, (e instanceof Error ? e.message : String(e)).split('\n')[0]!.replace(/\.$/, ''));
  }
  const out: ParsedOptions = {};
  for (const spec of specs) {
    const value = values[spec.name];
    if (value === undefined || Array.isArray(value)) continue;
    if (spec.type === 'number') {
      const n = Number(value);
      if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(command, `--${spec.name} needs a number, got '${String(value)}'`);
      }
      out[spec.name] = n;
    } else {
      out[spec.name] = value;
    }
  }
  return out;
}

export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` <${s.valueName ?? s.type}>`}`;
      return [flag, s.description] as const;
    });
  const width = Math.max(0, ...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join('\n');
}
