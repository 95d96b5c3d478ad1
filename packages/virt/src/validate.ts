import { invalidArgument } from './errors';

/** Throws INVALID_ARGUMENT unless `value` is an integer in [min, max]. */
export function checkInteger(operation: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(operation, `${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws INVALID_ARGUMENT unless `value` is a function. */
export function checkFunction(operation: string, name: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArgument(operation, `${name} must be a function, got ${describeValue(value)}`);
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
    case 'undefined':
      return 'undefined';
    case 'object':
      return value === null ? 'null' : `an object (${Object.prototype.toString.call(value)})`;
    default:
      return `a ${typeof value}`;
  }
}

export function hex(value: number, digits = 8): string {
  return `0x${(value >>> 0).toString(16).padStart(digits, '0')}`;
}
