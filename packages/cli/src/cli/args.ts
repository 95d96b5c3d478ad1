/**
 * Command-line options through `node:util`'s `parseArgs` (strict: unknown options, missing values
 * and stray positional arguments are usage errors, never silently ignored), plus what it lacks:
 * number-valued options, and the refusal of an option given twice (`parseArgs` keeps the last one
 * silently, so `--backend kvm --backend software` would run on software with no word said).
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { DEFAULT_TEXT_WIDTH, wrapText } from '../output/wrap';
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
  let parsed: ReturnType<typeof nodeParseArgs<{ args: string[]; options: typeof options; strict: true; allowPositionals: false; tokens: true }>>;
  try {
    parsed = nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    throw new UsageError(command, parseArgsProblem(e, argv));
  }
  const { values, tokens } = parsed;
  // The spellings each option was given under, in order (`-h` and `--help` are one option).
  const given = new Map<string, string[]>();
  for (const t of tokens) if (t.kind === 'option') given.set(t.name, [...(given.get(t.name) ?? []), t.rawName]);
  for (const [name, spellings] of given) {
    if (spellings.length < 2) continue;
    const as = new Set(spellings).size > 1 ? ` (as ${spellings.join(', ')})` : '';
    const times = spellings.length === 2 ? 'twice' : `${spellings.length} times`;
    throw new UsageError(command, `--${name} was given ${times}${as}; give it once`);
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

/**
 * A `parseArgs` error of `node:util` said in the CLI's own words (`--json needs a value`, not
 * `Option '--json <value>' argument missing`), from its `code` and the option its message quotes.
 * An error this does not know keeps Node's first line, lower-cased like the CLI's messages.
 */
export function parseArgsProblem(e: unknown, argv: readonly string[]): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const quoted = /'([^']*)'/.exec(message)?.[1];
  const long = /--([A-Za-z0-9][\w-]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) return `unknown option '${quoted}'`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) return `unexpected argument '${quoted}' (this command takes options only)`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && long !== undefined) {
    if (/argument missing/.test(message)) return `--${long} needs a value`;
    if (/does not take an argument/.test(message)) return `--${long} takes no value`;
    if (/ambiguous/.test(message)) {
      const next = argv[argv.indexOf(quoted ?? '') + 1];
      const got = argv.includes(quoted ?? '') && next !== undefined ? `, got the option '${next}'` : '';
      return `--${long} needs a value${got} (a value that starts with '-' is written --${long}=<value>)`;
    }
  }
  const first = message.split('\n')[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * The options of a `--help`, one per line, each description beside its flag and wrapped under
 * itself to `width` columns.
 */
export function formatOptions(specs: readonly OptionSpec[], width = DEFAULT_TEXT_WIDTH): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'boolean' ? '' : ` <${s.valueName ?? s.type}>`}`;
      return [flag, s.description] as const;
    });
  const flagWidth = Math.max(0, ...rows.map(([f]) => f.length));
  const hang = ' '.repeat(flagWidth + 4);
  return rows.flatMap(([f, d]) => wrapText(d, width, { first: `  ${f.padEnd(flagWidth)}  `, rest: hang })).join('\n');
}
