// One definition per C struct, its members in header order (offsets and size by the C rules),
// encoded little-endian; bitfields and embedded structs; a library whose missing optional exports
// are reported, not fatal.
const { decodeStruct, defineStruct, embedLayout, loadLibrary, packStruct } = require('@tsvmm/ffi');

// `struct kvm_userspace_memory_region`: two u32, then three u64 at 8, 16 and 24; 32 bytes.
const REGION = defineStruct('struct kvm_userspace_memory_region', { slot: 'u32', flags: 'u32', guestPhysAddr: 'u64', memorySize: 'u64', userspaceAddr: 'u64' });
console.log(REGION.size, REGION.fields.memorySize.offset, REGION.fields.guestPhysAddr.c); // 32 16 guest_phys_addr: the C member the check compiles against
const bytes = packStruct(REGION, { slot: 1, guestPhysAddr: 0x100000n, memorySize: 0x200000n }); // the members not given are zero
console.log(bytes[10], decodeStruct(REGION, new DataView(bytes.buffer)).memorySize); // 16 2097152n: guestPhysAddr 0x100000 at byte 8, little-endian

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
