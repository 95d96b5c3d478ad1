import { invalidArgument } from './errors';

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

/** A short, safe rendering of any value for error messages. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
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

/** `0x0000002a` for 42: the value as an unsigned 32-bit hex number. Never throws (non-numbers show as `describeValue`). */
export function hex(value: number, digits = 8): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return describeValue(value);
  const width = typeof digits === 'number' && Number.isInteger(digits) && digits >= 0 && digits <= 16 ? digits : 8;
  return `0x${(value >>> 0).toString(16).padStart(width, '0')}`;
}
