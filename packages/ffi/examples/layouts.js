// One definition per C struct, its members in header order (offsets and size by the C rules),
// encoded little-endian; bitfields and embedded structs; a library whose missing optional exports
// are reported, not fatal.
const { decodeStruct, defineStruct, embedLayout, loadLibrary, packStruct } = require('@tsvmm/ffi');

// `struct kvm_msi` is 32 bytes (12 of them trailing padding): the size says so, the offsets follow.
const KVM_MSI = defineStruct(
  'struct kvm_msi',
  {
    addressLo: 'u32',
    addressHi: 'u32',
    data: 'u32',
    flags: 'u32',
    devid: 'u32',
  },
  { size: 32 },
);
console.log(KVM_MSI.fields.data.offset, KVM_MSI.fields.addressHi.c); // 8 address_hi: the C member the check compiles against
const bytes = packStruct(KVM_MSI, { addressLo: 0xfee01000, data: 0x41 }); // 32 bytes, padding zero
console.log(bytes.length, decodeStruct(KVM_MSI, new DataView(bytes.buffer))); // 32 { addressLo: 4276097024, addressHi: 0, data: 65, flags: 0, devid: 0 }

// C bitfields inside a word, and a struct embedded in another at an explicit offset:
const CONTROL = defineStruct(
  'WHV_INTERRUPT_CONTROL',
  { Control: { type: 'u64', bitfieldsOnly: true }, Destination: 'u32', Vector: 'u32' },
  { bits: { Type: { field: 'Control', bit: 0, width: 8 }, DestinationMode: { field: 'Control', bit: 8, width: 4 } } },
);
const e = embedLayout('Interrupt', CONTROL, 8);
const PARAMS = defineStruct('WHV_TRIGGER_PARAMETERS', { TriggerType: 'u32', Reserved: 'u32', ...e.fields }, { size: 32, bits: e.bits });
const params = packStruct(PARAMS, { 'Interrupt.Type': 1, 'Interrupt.Vector': 0x41 });
console.log(params[8], params[20]); // 1 65: Type in the low byte of Control at 8, Vector at 8 + 12

// Optional exports reported, not fatal:
const lib = loadLibrary({ path: 'libc.so.6', required: { getpid: 'int getpid(void)' }, optional: { gone: 'int no_such_fn(void)' } });
console.log(lib.missing, lib.functions.getpid() === process.pid); // [ 'gone' ] true
