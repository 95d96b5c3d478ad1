/**
 * A small argument parser: `--name value`, `--name=value`, boolean flags, `-h`. Unknown options,
 * missing values and stray positional arguments are usage errors, never silently ignored.
 */
import { UsageError } from './errors';

export interface OptionSpec {
  readonly name: string;
  readonly type: 'boolean' | 'string' | 'number';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Shown in help as `--name <valueName>`. */
  readonly valueName?: string;
  readonly description: string;
  /** Hidden from `--help`: internal or test-only. */
  readonly hidden?: boolean;
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

export function parseArgs(command: string, argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const out: ParsedOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec) throw new UsageError(command, `unknown option --${name}`);
    } else if (arg.startsWith('-') && arg.length === 2) {
      spec = byShort.get(arg.slice(1));
      if (!spec) throw new UsageError(command, `unknown option ${arg}`);
    } else {
      throw new UsageError(command, `unexpected argument '${arg}'`);
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(command, `--${spec.name} takes no value`);
      out[spec.name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) {
        throw new UsageError(command, `--${spec.name} needs a value (${spec.valueName ?? spec.type})`);
      }
      value = next;
      i++;
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(command, `--${spec.name} needs a number, got '${value}'`);
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
