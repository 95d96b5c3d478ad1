// One definition per C struct, encoded little-endian; bitfields and embedded structs; a library
// whose missing optional exports are reported, not fatal.
const { decodeStruct, defineLayout, embedLayout, loadLibrary, packStruct } = require('@tsvmm/ffi');

const KVM_MSI = defineLayout('struct kvm_msi', 32, {
  address_lo: { offset: 0, type: 'u32' },
  address_hi: { offset: 4, type: 'u32' },
  data: { offset: 8, type: 'u32' },
});
const bytes = packStruct(KVM_MSI, { address_lo: 0xfee01000, data: 0x41 }); // 32 bytes, padding zero
console.log(bytes.length, decodeStruct(KVM_MSI, new DataView(bytes.buffer))); // 32 { address_lo: 4276097024, address_hi: 0, data: 65 }

// C bitfields inside a word, and a struct embedded in another:
const CONTROL = defineLayout('WHV_INTERRUPT_CONTROL', 16,
  { Control: { offset: 0, type: 'u64', bitfieldsOnly: true }, Destination: { offset: 8, type: 'u32' }, Vector: { offset: 12, type: 'u32' } },
  { Type: { field: 'Control', bit: 0, width: 8 }, DestinationMode: { field: 'Control', bit: 8, width: 4 } });
const e = embedLayout('Interrupt', CONTROL, 8);
const PARAMS = defineLayout('WHV_TRIGGER_PARAMETERS', 32, { TriggerType: { offset: 0, type: 'u32' }, ...e.fields }, e.bits);
const params = packStruct(PARAMS, { 'Interrupt.Type': 1, 'Interrupt.Vector': 0x41 });
console.log(params[8], params[20]); // 1 65: Type in the low byte of Control at 8, Vector at 8 + 12

// Optional exports reported, not fatal:
const lib = loadLibrary({ path: 'libc.so.6', required: { getpid: 'int getpid(void)' }, optional: { gone: 'int no_such_fn(void)' } });
console.log(lib.missing, lib.functions.getpid() === process.pid); // [ 'gone' ] true
