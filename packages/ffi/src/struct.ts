/**
 * C struct layouts declared as the header declares them: the members in order with their C types,
 * the offsets and the size derived by the x86_64 C rules, so an offset is never restated by hand.
 */
import { type BitfieldDef, type FieldDef, type FieldType, type StructLayout, checkFieldType, defineLayout, fieldWidth } from './layout';

/**
 * One member of {@link defineStruct}: its C type alone (`'u32'`), or the type with what the header
 * makes unusual. A member without `offset` is placed by the C rules (see {@link defineStruct}).
 */
export type MemberDef = FieldType | MemberSpec;

/** A member of {@link defineStruct} with more than its type. Any other key is refused (RangeError). */
export interface MemberSpec {
  /** The C type of the member, or of each element of an array member. */
  readonly type: FieldType;
  /**
   * The C member designator (`u.msi.address_lo`). Default: the member's name in snake_case when it
   * starts with a lowercase letter, else the name itself (`TriggerType`, as the Windows headers
   * spell members). The snake_case rule: an underscore before an uppercase letter that follows a
   * lowercase letter or a digit, and before the last uppercase letter of a run when a lowercase
   * letter follows it; then all lowercase (`numIrqs` is `num_irqs`, `ioctlHTTPRequest` is
   * `ioctl_http_request`, `redirtbl0` stays). A header spelled otherwise is given by `c`.
   */
  readonly c?: string;
  /**
   * Byte offset from the start of the struct, for a member the rules of {@link defineStruct} do not
   * place from the members before it: the first member of each union alternative but the first
   * (the union's offset plus the member's own), a member that follows a shorter alternative of an
   * anonymous union (refused without one), a member of an embedded struct ({@link embedLayout}'s
   * fields carry one), or a member after a union whose alignment or tail padding its members do not
   * show. Not for a packed struct (`__attribute__((packed))`): its size need not be a multiple of
   * its widest member, which {@link defineStruct} refuses; declare one with {@link defineLayout}.
   */
  readonly offset?: number;
  /**
   * An array member (`__u64 args[4]`): `count` fields named `${name}0` to `${name}${count - 1}`,
   * with C designators `${c}[0]` to `${c}[${count - 1}]`, one element width apart. For a literal
   * count up to 999 each element name is typed one by one; from 1000 on (TypeScript's recursion
   * bound, TS2589) the names are typed as `${name}${number}`.
   */
  readonly count?: number;
  /** The word has no C member of its own, only bitfields (see {@link FieldDef.bitfieldsOnly}). */
  readonly bitfieldsOnly?: boolean;
}

const MEMBER_KEYS: ReadonlySet<string> = new Set(['type', 'c', 'offset', 'count', 'bitfieldsOnly']);
const STRUCT_OPTION_KEYS: ReadonlySet<string> = new Set(['size', 'bits', 'cPrefix']);

/** The C member a field name stands for: TypeScript spells it in camelCase, the Linux headers in snake_case. */
function cName(name: string): string {
  if (!/^[a-z]/.test(name)) return name;
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** The aggregate a designator's member lives in (`u.msi.` for `u.msi.data`); empty for a top-level member. */
function aggregateOf(c: string): string {
  return c.slice(0, c.lastIndexOf('.') + 1);
}

/**
 * The indexes of an `N`-element array, 0 | 1 | ... | N - 1, for a literal `N` up to 999; `number`
 * when `N` is not a literal or is 1000 or more (TypeScript stops a type recursion at 1000 levels,
 * error TS2589, so a longer array's element names are typed as `${name}${number}`).
 */
export type IndexBelow<N extends number, A extends number[] = []> = number extends N
  ? number
  : A['length'] extends N
    ? A[number]
    : A['length'] extends 999
      ? number
      : IndexBelow<N, [...A, A['length']]>;

/** The field names {@link defineStruct} makes of members `M`: each name, and `${name}${i}` for each element of an array member. */
export type MemberNames<M> = {
  [K in keyof M & string]: M[K] extends {
    /** The element count of an array member. */
    readonly count: infer N extends number;
  }
    ? `${K}${IndexBelow<N>}`
    : K;
}[keyof M & string];

/** What {@link defineStruct} takes besides the members. */
export interface StructOptions<F extends string, B extends string> {
  /**
   * `sizeof` the C type, when the header makes it larger than its members need (trailing padding
   * such as `__u8 pad[16]`); default: the end of the furthest member rounded up to the widest one.
   */
  readonly size?: number;
  /**
   * Prepended to each C member name derived from a field name, for headers whose members share a
   * prefix (`aio_` in `struct iocb`, `tv_` in `struct timespec`); an explicit `c` is taken as given.
   */
  readonly cPrefix?: string;
  /** Bitfields inside the integer members, as {@link defineLayout} takes them. */
  readonly bits?: Record<B, BitfieldDef<F>>;
}

/**
 * A {@link StructLayout} from the members of `cType` in header order: `{ argsz: 'u32', flags:
 * 'u32', size: 'u64' }` places `argsz` @0, `flags` @4, `size` @8 and is 16 bytes. Offsets follow
 * the x86_64 C rules (System V psABI, "Aggregates and Unions"): each member aligned to its width,
 * the struct aligned to its widest member and its size a multiple of that.
 *
 * A member without `offset` is placed at its width's next multiple after:
 * - the end of the member before it, when that member sits inside an aggregate (its designator has
 *   a dot, `u.msi.address_lo`) and this member's designator is in the same aggregate or deeper
 *   (`u.msi.address_hi`): the next member of one union alternative;
 * - otherwise the furthest end any member before it reaches: in C a member after a union starts
 *   after the union's largest member (`{ h: 'u32', a: { type: 'u64', offset: 8, c: 'u.a' }, b: {
 *   type: 'u32', offset: 8, c: 'u.b' }, after: 'u32' }` puts `after` @16, not @12).
 * Where the member before it has no aggregate in its designator and ends short of that furthest
 * end (a shorter alternative of an anonymous union), C could go on inside that alternative (an
 * anonymous struct) or after the union: the member needs an `offset`, else RangeError.
 * A union's own alignment or tail padding beyond its members is not known here: give `offset`
 * where it matters; {@link generateCCheck} checks every offset against the real header.
 *
 * The result is the one {@link defineLayout} gives for the same offsets. Throws RangeError for a
 * member that is neither a type nor a {@link MemberSpec}, an unknown key in a member spec, a type
 * that is not a {@link FieldType}, a negative or fractional `offset` or `count`, two members that
 * make the same field name (`a: { type: 'u32', count: 2 }` and `a0`), an unknown option, a member
 * named `__proto__`, a member placed after an
 * anonymous union's shorter alternative without an `offset` (above), a `size` smaller than the
 * members need or not a multiple of the struct's alignment, and as {@link defineLayout} does for
 * bitfields.
 */
export function defineStruct<const M extends Record<string, MemberDef>, B extends string = never>(
  cType: string,
  members: M,
  options: StructOptions<NoInfer<MemberNames<M>>, B> = {},
  // Spelled out rather than as MemberNames<M>, so that a declaration file names the fields themselves.
): StructLayout<
  {
    [K in keyof M & string]: M[K] extends {
      /** The element count of an array member. */
      readonly count: infer N extends number;
    }
      ? `${K}${IndexBelow<N>}`
      : K;
  }[keyof M & string],
  B
> {
  const fields: Record<string, FieldDef> = {};
  const madeBy = new Map<string, string>(); // field name -> the member that made it
  let previous: { end: number; c: string } | undefined; // the member before this one
  let end = 0; // the furthest any member reaches
  let align = 1;
  const unknownOptions = Object.keys(options).filter((k) => !STRUCT_OPTION_KEYS.has(k));
  if (unknownOptions.length > 0) throw new RangeError(`${cType}: unknown option ${unknownOptions.join(', ')}; defineStruct takes ${[...STRUCT_OPTION_KEYS].join(', ')}`);
  for (const [name, def] of Object.entries(members) as [string, unknown][]) {
    const where = `${cType}.${name}`;
    if (name === '__proto__') throw new RangeError(`${where}: the name __proto__ cannot be a member name`);
    if (typeof def !== 'string' && (typeof def !== 'object' || def === null || Array.isArray(def))) {
      throw new RangeError(`${where}: ${String(def)} is not a member (a type such as 'u32', or { type, c?, offset?, count?, bitfieldsOnly? })`);
    }
    const m = (typeof def === 'string' ? { type: def } : def) as MemberSpec;
    const unknown = Object.keys(m).filter((k) => !MEMBER_KEYS.has(k));
    if (unknown.length > 0) throw new RangeError(`${where}: unknown key ${unknown.join(', ')}; a member takes ${[...MEMBER_KEYS].join(', ')}`);
    checkFieldType(where, m.type);
    const width = fieldWidth(m.type);
    const c = m.c ?? `${options.cPrefix ?? ''}${cName(name)}`;
    const prevAggregate = previous === undefined ? '' : aggregateOf(previous.c);
    const after = previous !== undefined && prevAggregate !== '' && c.startsWith(prevAggregate) ? previous.end : end;
    if (m.offset === undefined && previous !== undefined && previous.end < end && prevAggregate === '') {
      // Anonymous members: after a shorter union alternative, C goes on inside that alternative
      // (an anonymous struct) or after the whole union; nothing here says which.
      throw new RangeError(
        `${where}: the member before it (${previous.c}) ends at ${previous.end}, inside a union reaching ${end}: ` +
          `give ${name} an offset (the next member of that union alternative, or after the union), or name the alternative in the designators (c: 'u.s.x')`,
      );
    }
    const offset = m.offset ?? Math.ceil(after / width) * width;
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`${where}: offset ${offset} is not a byte offset`);
    const bitfieldsOnly = m.bitfieldsOnly ?? false;
    const place = (field: string, def: FieldDef): void => {
      const other = madeBy.get(field);
      if (other !== undefined) throw new RangeError(`${where}: field ${field} is made by both ${other} and ${name}; rename one`);
      madeBy.set(field, name);
      fields[field] = def;
    };
    if (m.count === undefined) {
      place(name, { offset, type: m.type, c, bitfieldsOnly });
    } else {
      if (!Number.isInteger(m.count) || m.count < 1) throw new RangeError(`${where}: array count ${m.count} is not a positive integer`);
      for (let i = 0; i < m.count; i++) place(`${name}${i}`, { offset: offset + i * width, type: m.type, c: `${c}[${i}]`, bitfieldsOnly });
    }
    previous = { end: offset + width * (m.count ?? 1), c };
    end = Math.max(end, previous.end);
    align = Math.max(align, width);
  }
  const natural = Math.ceil(end / align) * align;
  const size = options.size ?? natural;
  if (!Number.isInteger(size) || size < natural || size % align !== 0) {
    throw new RangeError(`${cType}: size ${size} must be a multiple of ${align} and at least ${natural}, what its members need`);
  }
  return defineLayout(cType, size, fields as Record<MemberNames<M>, FieldDef>, options.bits);
}
