import { invalidArgument, isVirtError } from './errors';

/** Throws INVALID_ARGUMENT unless `value` is an integer in [min, max] (`min`, `max` must be numbers). */
export function checkInteger(operation: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max)) {
    throw invalidArgument(String(operation), `the bounds of ${String(name)} must be numbers, got ${describeValue(min)} and ${describeValue(max)}`);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(operation, `${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws INVALID_ARGUMENT unless `value` is a function. */
export function checkFunction(operation: string, name: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArgument(operation, `${name} must be a function, got ${describeValue(value)}`);
}

/** Throws INVALID_ARGUMENT unless `value` is a non-null object (arrays included); returns it. */
export function checkObject<T extends object = Record<string, unknown>>(operation: string, name: string, value: unknown): T {
  if (typeof value !== 'object' || value === null) throw invalidArgument(operation, `${name} must be an object, got ${describeValue(value)}`);
  return value as T;
}

/**
 * Throws INVALID_ARGUMENT unless `token` is `expected`: for a class whose constructor is internal
 * (private in TypeScript, yet callable from JavaScript), where only its factory `factory` (e.g.
 * `KvmPartition.create()`), which validates the options and opens the resources, holds the token.
 * Call it first in the constructor, before any side effect.
 */
export function checkConstructToken(token: unknown, expected: symbol, className: string, factory: string): void {
  if (token !== expected) {
    throw invalidArgument(`new ${className}()`, `the ${className} constructor is internal`, `Use ${factory} to make a ${className}.`);
  }
}

/**
 * Throws INVALID_ARGUMENT unless `value` is a non-null object whose members `required` are all
 * functions, and whose members `optional` are functions or absent; returns it. For injected
 * interfaces (a system-call table, a DLL binding): a wrong one fails here, at the call that was
 * given it, not later with a TypeError from inside. The error names every member that is wrong
 * (a member whose getter or Proxy trap throws is wrong, named with what it threw).
 */
export function checkMethods<T extends object>(operation: string, name: string, value: unknown, required: readonly string[], optional: readonly string[] = []): T {
  const needs = `${required.join(', ')}${optional.length > 0 ? `, and optionally ${optional.join(', ')}` : ''}`;
  if (typeof value !== 'object' || value === null) throw invalidArgument(operation, `${name} must be an object with the functions ${needs}, got ${describeValue(value)}`);
  const obj = value as Record<string, unknown>;
  // Each member is read once (a getter could answer differently the second time).
  const wrong: string[] = [];
  // A getter or Proxy trap that throws makes that member wrong (named with what it threw), never an untyped throw.
  const read = (m: string): { readonly value?: unknown; readonly threw?: string } => {
    try {
      return { value: obj[m] };
    } catch (e) {
      return { threw: describeError(e) };
    }
  };
  for (const m of required) {
    const v = read(m);
    if (v.threw !== undefined) wrong.push(`${m} (reading it threw ${v.threw})`);
    else if (typeof v.value !== 'function') wrong.push(`${m} (${describeValue(v.value)})`);
  }
  for (const m of optional) {
    const v = read(m);
    if (v.threw !== undefined) wrong.push(`${m} (reading it threw ${v.threw})`);
    else if (v.value !== undefined && typeof v.value !== 'function') wrong.push(`${m} (${describeValue(v.value)})`);
  }
  if (wrong.length > 0) {
    const list = wrong.join(', ');
    throw invalidArgument(operation, `${name} must have the function${wrong.length === 1 ? '' : 's'} ${list}; it needs ${needs}`);
  }
  return value as T;
}

/**
 * Throws INVALID_ARGUMENT unless `value` is a non-null, non-array object whose own enumerable keys
 * are all in `known`; returns it. Every public options object goes through here: a misspelt option
 * (`irqdf: 'relay'`) would otherwise be ignored, and its default silently used instead. The error
 * names the unknown key(s) and the known ones. Reads no property (getters and proxies' `get` are
 * not triggered: only the keys are listed); a value whose keys cannot be listed (a Proxy whose
 * `ownKeys` trap throws, a revoked Proxy) is INVALID_ARGUMENT too.
 */
export function checkOptions<T extends object>(operation: string, name: string, value: unknown, known: readonly (keyof T & string)[]): T {
  let keys: string[];
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(operation, `${name} must be an object, got ${describeValue(value)}`);
    keys = Object.keys(value);
  } catch (e) {
    if (isVirtError(e)) throw e;
    // A Proxy whose ownKeys (or, revoked, isArray) trap throws.
    throw invalidArgument(operation, `${name} must be an object whose keys can be listed; listing them threw ${describeError(e)}`);
  }
  const unknown = keys.filter((k) => !(known as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => `'${k}'`).join(', ');
    throw invalidArgument(operation, `${name} has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${list}; the known ones are ${known.join(', ')}`);
  }
  return value as T;
}

/**
 * Throws INVALID_ARGUMENT when `result` (what a synchronous callback returned) is a thenable: the
 * callback was async, and whatever it awaits runs after its caller has finished with it. The
 * thenable is marked handled (its rejection would otherwise surface as an unhandled rejection the
 * caller cannot catch: they never receive it); the work after its first `await` still runs, outside.
 * A result whose `then` cannot be read (a Proxy whose `get` trap throws) is not a thenable.
 */
export function checkNotThenable(operation: string, name: string, result: unknown): void {
  if ((typeof result !== 'object' && typeof result !== 'function') || result === null) return;
  let then: unknown;
  try {
    then = (result as { then?: unknown }).then;
  } catch {
    // `then` cannot be read (a Proxy whose get trap throws): not a thenable anything could await
    return;
  }
  if (typeof then !== 'function') return;
  try {
    (then as (ok: () => void, fail: () => void) => unknown).call(result, () => undefined, () => undefined);
  } catch {
    // a thenable that throws from then() has nothing left to handle
  }
  throw invalidArgument(
    operation,
    `${name} returned a promise (an async function?): it must be synchronous. Only what it did before its first await was part of this call; ` +
      'the rest runs later, outside it.',
  );
}

/** Throws INVALID_ARGUMENT unless `value` is a string (non-empty unless `allowEmpty`); returns it. */
export function checkString(operation: string, name: string, value: unknown, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw invalidArgument(operation, `${name} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws INVALID_ARGUMENT unless `value` is a boolean (or undefined, giving `fallback`); returns it. */
export function checkBoolean(operation: string, name: string, value: unknown, fallback?: boolean): boolean {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(operation, `${name} must be true or false, got ${describeValue(value)}`);
  return value;
}

/**
 * A short, safe rendering of any value for error messages: a non-negative integer in decimal and hex
 * (`42 (0x2a)`), other numbers as JavaScript prints them, bigints with `n`, strings quoted (cut at 40
 * characters), booleans as themselves, arrays and plain objects as their JSON (cut at 80 characters),
 * other objects by their class (`an object ([object Map])`); an object that cannot be inspected
 * (a Proxy whose traps throw, a revoked Proxy) as `an object that cannot be inspected (…)`. Never throws.
 */
export function describeValue(value: unknown): string {
  try {
    return describeInspectable(value);
  } catch {
    // A Proxy whose traps throw (or a revoked one): Object.prototype.toString reads Symbol.toStringTag through it.
    return `${typeof value === 'function' ? 'a function' : 'an object'} that cannot be inspected (a Proxy whose traps throw?)`;
  }
}

function describeInspectable(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const json = plainJson(value);
    if (json !== undefined) return json.length > 80 ? `${json.slice(0, 80)}…` : json;
  }
  switch (typeof value) {
    case 'boolean':
      return String(value);
    case 'number':
      return Number.isInteger(value) && value >= 0 ? `${value} (0x${value.toString(16)})` : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'function':
      return 'a function';
    case 'undefined':
      return 'undefined';
    case 'object':
      return value === null ? 'null' : `an object (${Object.prototype.toString.call(value)})`;
    case 'symbol':
      return 'a symbol';
    default:
      return `a ${typeof value}`;
  }
}

/** The JSON of an array or a plain object, or undefined for any other object or one JSON cannot show (a bigint inside, a cycle, a throwing getter or Proxy). */
function plainJson(value: object): string | undefined {
  try {
    if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) return undefined;
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * A caught value as text for an error's detail: an Error (by prototype) as `String(e)`
 * (`Error: message`), anything else, or an Error whose `toString` or prototype chain throws (a
 * Proxy), as {@link describeValue}. Never throws. Every place that puts a caught value into a
 * message goes through here: the thrown value may come from a caller's callback, and is hostile.
 */
export function describeError(e: unknown): string {
  try {
    if (e instanceof Error) {
      const text = String(e);
      return typeof text === 'string' ? text : describeValue(e);
    }
  } catch {
    // its prototype chain or toString threw
  }
  return describeValue(e);
}

/** `0x0000002a` for 42: the value as an unsigned 32-bit hex number. Never throws (non-numbers show as `describeValue`). */
export function hex(value: number, digits = 8): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return describeValue(value);
  const width = typeof digits === 'number' && Number.isInteger(digits) && digits >= 0 && digits <= 16 ? digits : 8;
  return `0x${(value >>> 0).toString(16).padStart(width, '0')}`;
}
