export { decodeStruct, defineLayout, encodeStruct, fieldWidth, packStruct, readField, writeField } from './layout';
export type { FieldDef, FieldType, FieldValues, StructLayout } from './layout';
export { generateCCheck } from './c-check';
export type { CCheck, CCheckSpec, NamedRequest } from './c-check';
