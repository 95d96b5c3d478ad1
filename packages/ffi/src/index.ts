export {
  decodeBits,
  decodeStruct,
  defineLayout,
  embedLayout,
  encodeBits,
  encodeStruct,
  fieldWidth,
  packStruct,
  readField,
  writeField,
} from './layout';
export type { BitfieldDef, FieldDef, FieldType, FieldValues, StructLayout } from './layout';
export { defineTable } from './table';
export type { TableLayout } from './table';
export { generateCCheck, runCCheck } from './c-check';
export type { CCheck, CCheckSpec, NamedRequest, RunCCheckOptions } from './c-check';
export { LibraryLoadError, loadLibrary } from './library';
export type { KoffiLibraryLike, KoffiLike, LoadLibraryOptions, LoadedLibrary, Prototypes } from './library';
export { defineStruct } from './struct';
export type { IndexBelow, MemberDef, MemberNames, MemberSpec, StructOptions } from './struct';
