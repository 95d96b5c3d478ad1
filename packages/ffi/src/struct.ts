/**
 * C struct layouts declared as the header declares them: the members in order with their C types,
 * the offsets and the size derived by the x86_64 C rules, so an offset is never restated by hand.
 */
import { type BitfieldDef, type FieldDef, type FieldType, type StructLayout, defineLayout, fieldWidth } from './layout';

/**
 * One member of {@link defineStruct}: its C type alone (`'u32'`), or the type with what the header
 * makes unusual. Every member's offset is the C one: the end of the member before it, rounded up to
 * its own width (natural alignment), unless `offset` places it.
 */
export type MemberDef = FieldType | MemberSpec;

/** A member of {@link defineStruct} with more than its type. */
export interface MemberSpec {
  /** The C type of the member, or of each element of an array member. */
  readonly type: FieldType;
  /**
   * The C member designator (`u.msi.address_lo`). Default: the member's name in snake_case when it
   * starts with a lowercase letter (`numIrqs` is `num_irqs`, `redirtbl0` stays), else the name itself
   * (`TriggerType`, as the Windows headers spell members).
   */
  readonly c?: string;
  /**
   * Byte offset, for a member the sequential rule does not place: a union member (the union's
   * offset plus the member's own), a member of an embedded struct ({@link embedLayout}'s fields
   * carry one), a packed struct. The members after it continue from its end.
   */
  readonly offset?: number;
  /**
   * An array member (`__u64 args[4]`): `count` fields named `${name}0` to `${name}${count - 1}`,
   * with C designators `${c}[0]` to `${c}[${count - 1}]`, one element width apart. The field names
   * are typed one by one for a literal count below 1000 (TypeScript's recursion bound); a longer
   * array is better left to `size`, as its elements are not fields anyone encodes by name.
   */
  readonly count?: number;
  /** The word has no C member of its own, only bitfields (see {@link FieldDef.bitfieldsOnly}). */
  readonly bitfieldsOnly?: boolean;
}

/** The C member a field name stands for: TypeScript spells it in camelCase, the Linux headers in snake_case. */
function cName(name: string): string {
  return /^[a-z]/.test(name) ? name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : name;
}

/** The indexes of an `N`-element array, 0 | 1 | ... | N - 1, for a literal `N`; `number` when `N` is not a literal. */
export type IndexBelow<N extends number, A extends number[] = []> = number extends N ? number : A['length'] extends N ? A[number] : IndexBelow<N, [...A, A['length']]>;

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
 * the struct aligned to its widest member and its size a multiple of that. The result is the one
 * {@link defineLayout} gives for the same offsets; {@link generateCCheck} checks each of them against
 * the real header. Throws RangeError for a negative or fractional `offset` or `count`, or a `size`
 * smaller than the members need or not a multiple of the struct's alignment, and as
 * {@link defineLayout} does for bitfields.
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
  let next = 0; // where the next member goes: the end of the one before it
  let end = 0; // the furthest any member reaches (an explicitly placed one may reach further)
  let align = 1;
  for (const [name, def] of Object.entries(members)) {
    const m: MemberSpec = typeof def === 'string' ? { type: def } : def;
    const width = fieldWidth(m.type);
    const offset = m.offset ?? Math.ceil(next / width) * width;
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`${cType}.${name}: offset ${offset} is not a byte offset`);
    const c = m.c ?? `${options.cPrefix ?? ''}${cName(name)}`;
    const bitfieldsOnly = m.bitfieldsOnly ?? false;
    if (m.count === undefined) {
      fields[name] = { offset, type: m.type, c, bitfieldsOnly };
    } else {
      if (!Number.isInteger(m.count) || m.count < 1) throw new RangeError(`${cType}.${name}: array count ${m.count} is not a positive integer`);
      for (let i = 0; i < m.count; i++) fields[`${name}${i}`] = { offset: offset + i * width, type: m.type, c: `${c}[${i}]`, bitfieldsOnly };
    }
    next = offset + width * (m.count ?? 1);
    end = Math.max(end, next);
    align = Math.max(align, width);
  }
  const natural = Math.ceil(end / align) * align;
  const size = options.size ?? natural;
  if (!Number.isInteger(size) || size < natural || size % align !== 0) {
    throw new RangeError(`${cType}: size ${size} must be a multiple of ${align} and at least ${natural}, what its members need`);
  }
  return defineLayout(cType, size, fields as Record<MemberNames<M>, FieldDef>, options.bits);
}
