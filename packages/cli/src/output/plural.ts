/** English counts: `1 commit`, `2 commits`, by the language's own plural rules (`Intl.PluralRules`). */
const rules = new Intl.PluralRules('en');

/** `n` and the form of the noun that goes with it: `count(1, 'metric', 'metrics')` is `1 metric`. */
export function count(n: number, one: string, other: string): string {
  return `${n} ${rules.select(n) === 'one' ? one : other}`;
}

/** Units whose name is a plural noun, by their singular. */
const SINGULAR_UNITS: Readonly<Record<string, string>> = { commits: 'commit' };

/** A unit as it reads after `n`: `commits` after 2, `commit` after 1; symbols (`µs`, `ms`) as they are. */
export function unitFor(n: number, unit: string): string {
  const one = SINGULAR_UNITS[unit];
  return one !== undefined && rules.select(n) === 'one' ? one : unit;
}
