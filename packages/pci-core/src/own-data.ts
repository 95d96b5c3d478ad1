/**
 * A caller's snapshot copied once before it is checked: each field read exactly once, from own
 * data properties only. A snapshot whose getter answers validly on the check and differently on
 * the apply would otherwise put values past every check into the emulator; reading once and
 * applying the copy closes that, and refusing accessors and inherited fields makes the rule plain.
 */
import { describeValue } from '@tsvmm/virt/implement';

/** An array copied element by element (its length and each element read once); anything else as is. */
function copyArray(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const length: unknown = value.length;
  const copy: unknown[] = [];
  if (typeof length !== 'number') return copy;
  for (let i = 0; i < length; i++) copy.push(value[i]);
  return copy;
}

/**
 * The fields of `state` as a null-prototype record, each read once from an own data property
 * (arrays copied element by element). Returns the copy, or the detail of the first fault: not an
 * object, an own key outside `fields`, an accessor property, a field inherited from the
 * prototype, or anything thrown while reading (a Proxy's trap). Never throws.
 */
export function copyOwnData(state: unknown, fields: readonly string[]): { readonly copy: Record<string, unknown> } | { readonly fault: string } {
  try {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) return { fault: `state must be a save() snapshot (an object), got ${describeValue(state)}` };
    const copy: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const unknown: string[] = [];
    for (const key of Reflect.ownKeys(state)) {
      const desc = Reflect.getOwnPropertyDescriptor(state, key);
      if (desc === undefined) continue;
      if (typeof key !== 'string' || !fields.includes(key)) {
        unknown.push(typeof key === 'string' ? `'${key}'` : 'a symbol');
        continue;
      }
      if (!('value' in desc)) return { fault: `state.${key} is an accessor property; a snapshot has own data properties only (as save() returns)` };
      copy[key] = copyArray(desc.value);
    }
    if (unknown.length > 0) {
      return { fault: `state has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.join(', ')}; a version-1 snapshot has ${fields.join(', ')}` };
    }
    for (const key of fields) {
      if (!(key in copy) && key in state) return { fault: `state.${key} is inherited from its prototype; a snapshot has own data properties only (as save() returns)` };
    }
    return { copy };
  } catch (e) {
    return { fault: `state could not be read: reading it threw ${describeValue(e)}` };
  }
}
