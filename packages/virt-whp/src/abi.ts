/**
 * The WHP ABI this backend uses (x64), one definition per struct, constant and HRESULT.
 *
 * Source: Microsoft's `WinHvPlatformDefs.h` (the MIT-licensed copy published for open-source VMMs)
 * and the WHP documentation pages for WHvCreateTrigger, WHvUpdateTriggerParameters,
 * WHvDeleteTrigger, WHvGetCapability, WHvSetPartitionProperty and WHvGetVirtualProcessorState.
 * The header asserts `sizeof(WHV_INTERRUPT_CONTROL) == 16` and `sizeof(WHV_TRIGGER_PARAMETERS) == 32`.
 */
import { defineStruct, embedLayout } from '@tsvmm/ffi';
import type { MsiBitsSource } from '@tsvmm/virt/implement';

/**
 * `WHV_INTERRUPT_CONTROL` (16 bytes): a 64-bit bitfield word (`Type` bits 0-7, `DestinationMode`
 * 8-11, `TriggerMode` 12-15, `TargetVtl` 16-23, the rest reserved 0; older headers call the
 * `TargetVtl` bits reserved, so it stays 0), then `Destination` u32 @8 and `Vector` u32 @12.
 */
export const WHV_INTERRUPT_CONTROL = defineStruct(
  'WHV_INTERRUPT_CONTROL',
  {
    Control: { type: 'u64', bitfieldsOnly: true },
    Destination: 'u32',
    Vector: 'u32',
  },
  {
    bits: {
      Type: { field: 'Control', bit: 0, width: 8 },
      DestinationMode: { field: 'Control', bit: 8, width: 4 },
      TriggerMode: { field: 'Control', bit: 12, width: 4 },
      TargetVtl: { field: 'Control', bit: 16, width: 8 },
    },
  },
);

const interrupt = embedLayout('Interrupt', WHV_INTERRUPT_CONTROL, 8);

/**
 * `WHV_TRIGGER_PARAMETERS` (32 bytes): `TriggerType` u32 @0, `Reserved` u32 @4 (must be 0), then a
 * 24-byte anonymous union @8 whose `Interrupt` member (the one an emulated device uses) is a
 * {@link WHV_INTERRUPT_CONTROL}. The SynicEvent and DeviceInterrupt members are not used here.
 */
export const WHV_TRIGGER_PARAMETERS = defineStruct('WHV_TRIGGER_PARAMETERS', { TriggerType: 'u32', Reserved: 'u32', ...interrupt.fields }, { size: 32, bits: interrupt.bits });

/** `WHV_TRIGGER_TYPE` Interrupt: signalling the event injects a `WHV_INTERRUPT_CONTROL` (x64 only; the only type used here). */
export const WHvTriggerTypeInterrupt = 0;
/** `WHV_TRIGGER_TYPE` SynicEvent: signals a synthetic interrupt controller event flag of a VP; not used here. */
export const WHvTriggerTypeSynicEvent = 1;
/** `WHV_TRIGGER_TYPE` DeviceInterrupt: an MSI of a device made through WHP's own vPCI API; not used here (an emulated device uses Interrupt). */
export const WHvTriggerTypeDeviceInterrupt = 2;

/**
 * `WHV_INTERRUPT_TYPE` Fixed. The values are the x86 delivery modes WHP can express (MSI data bits
 * 10:8); SMI 2, RemoteRead 3 and ExtINT 7 have none.
 */
export const WHvX64InterruptTypeFixed = 0;
/** `WHV_INTERRUPT_TYPE` LowestPriority (delivery mode 1). */
export const WHvX64InterruptTypeLowestPriority = 1;
/** `WHV_INTERRUPT_TYPE` NMI (delivery mode 4). */
export const WHvX64InterruptTypeNmi = 4;
/** `WHV_INTERRUPT_TYPE` INIT (delivery mode 5). */
export const WHvX64InterruptTypeInit = 5;
/** `WHV_INTERRUPT_TYPE` SIPI (6). An MSI cannot ask for it: delivery mode 6 is reserved for MSI and refused. */
export const WHvX64InterruptTypeSipi = 6;
/** `WHV_INTERRUPT_TYPE` LocalInt1 (9): no MSI delivery mode maps to it. */
export const WHvX64InterruptTypeLocalInt1 = 9;

/** `WHV_INTERRUPT_DESTINATION_MODE` Physical: `Destination` is an APIC ID (MSI address bit 2 clear). */
export const WHvX64InterruptDestinationModePhysical = 0;
/** `WHV_INTERRUPT_DESTINATION_MODE` Logical: `Destination` is a logical destination (MSI address bit 2 set). */
export const WHvX64InterruptDestinationModeLogical = 1;
/** `WHV_INTERRUPT_TRIGGER_MODE` Edge (MSI data bit 15 clear). */
export const WHvX64InterruptTriggerModeEdge = 0;
/** `WHV_INTERRUPT_TRIGGER_MODE` Level (MSI data bit 15 set). */
export const WHvX64InterruptTriggerModeLevel = 1;

/** `WHV_PARTITION_PROPERTY_CODE` ProcessorCount (UINT32), set before `WHvSetupPartition`. */
export const WHvPartitionPropertyCodeProcessorCount = 0x00001fff;
/**
 * `WHV_PARTITION_PROPERTY_CODE` LocalApicEmulationMode (UINT32, a `WHV_X64_LOCAL_APIC_EMULATION_MODE`),
 * set before `WHvSetupPartition`; E_INVALIDARG after it.
 */
export const WHvPartitionPropertyCodeLocalApicEmulationMode = 0x00001005;
/** `WHV_X64_LOCAL_APIC_EMULATION_MODE` None: no local APIC emulation. */
export const WHvX64LocalApicEmulationModeNone = 0;
/** `WHV_X64_LOCAL_APIC_EMULATION_MODE` XApic: the default mode of this backend (8-bit APIC IDs). */
export const WHvX64LocalApicEmulationModeXApic = 1;
/** `WHV_X64_LOCAL_APIC_EMULATION_MODE` X2Apic: set by the `x2apic` partition option (32-bit APIC IDs). */
export const WHvX64LocalApicEmulationModeX2Apic = 2;

/**
 * `WHV_INTERRUPT_CONTROL.Destination` (a UINT32) from an MSI: bits 7:0 from address bits 19:12,
 * bits 31:8 from the upper address's bits 31:8 (the x2APIC destination ID, as KVM's `address_hi`
 * carries it). WHP's one encoding of a destination, in WHvRequestInterrupt and in Interrupt
 * triggers alike; in an xAPIC partition the upper address is always 0, so only bits 7:0 are set.
 * As `{ from, shift, width, at }` sources for the shared MSI field encoder of `@tsvmm/virt`.
 */
export const WHV_DESTINATION_FROM_MSI: readonly MsiBitsSource[] = Object.freeze([
  Object.freeze({ from: 'addressLo', shift: 12, width: 8, at: 0 }),
  Object.freeze({ from: 'addressHi', shift: 8, width: 24, at: 8 }),
] as const);

/** `WHV_CAPABILITY_CODE` HypervisorPresent: a 4-byte BOOL, nonzero when the hypervisor runs. */
export const WHvCapabilityCodeHypervisorPresent = 0;
/** `WHV_CAPABILITY_CODE` Features: a UINT64 of feature bits, such as {@link WHV_FEATURE_LOCAL_APIC_EMULATION}. */
export const WHvCapabilityCodeFeatures = 1;
/** Bit 1 of `WHV_CAPABILITY_FEATURES`: the hypervisor emulates the local APIC. */
export const WHV_FEATURE_LOCAL_APIC_EMULATION = 1n << 1n;

/** `WHV_VIRTUAL_PROCESSOR_STATE_TYPE` InterruptControllerState2: the xAPIC register page (4096 bytes). */
export const WHvVirtualProcessorStateTypeInterruptControllerState2 = 0x00001000;
/** Bytes of the InterruptControllerState2 buffer: one 4 KiB xAPIC register page. */
export const LAPIC_PAGE_SIZE = 4096;
/**
 * Byte offset of the APIC ID register in the page (xAPIC register offsets: Intel SDM, "Local APIC
 * Register Address Map"; 32 bits per 16-byte row). The ID is in bits 31:24.
 */
export const LAPIC_ID = 0x20;
/** Byte offset of the spurious-interrupt vector register (SVR); bit 8 is {@link LAPIC_SVR_ENABLE}. */
export const LAPIC_SVR = 0xf0;
/** Byte offset of the in-service register (ISR): 8 u32 words 16 bytes apart; vector v is bit `v % 32` of the word at `0x100 + 16 * (v >> 5)`. */
export const LAPIC_ISR = 0x100;
/** Byte offset of the trigger-mode register (TMR), laid out as {@link LAPIC_ISR}. */
export const LAPIC_TMR = 0x180;
/** Byte offset of the interrupt-request register (IRR), laid out as {@link LAPIC_ISR}: where a delivered vector shows. */
export const LAPIC_IRR = 0x200;
/** SVR bit 8: APIC software enable. SVR 0x1FF enables it with spurious vector 0xFF. */
export const LAPIC_SVR_ENABLE = 0x100;

/** HRESULT success. HRESULTs here are unsigned 32-bit; bit 31 set means failure. */
export const S_OK = 0;
/** HRESULT E_INVALIDARG, for instance a property that cannot change in the partition's current state, or a trigger update that changes its type. */
export const E_INVALIDARG = 0x80070057;
/** HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE). */
export const E_HANDLE = 0x80070006;
/** HRESULT E_ACCESSDENIED: the user may not use WHP (a VirtError PERMISSION here). */
export const E_ACCESSDENIED = 0x80070005;
/** HRESULT E_OUTOFMEMORY. */
export const E_OUTOFMEMORY = 0x8007000e;
/** HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND): an export the DLL lacks. */
export const HRESULT_PROC_NOT_FOUND = 0x8007007f;
/** WHV_E_UNKNOWN_CAPABILITY: `WHvGetCapability` with a code this Windows does not know. */
export const WHV_E_UNKNOWN_CAPABILITY = 0x80370300;
/** WHV_E_INSUFFICIENT_BUFFER: the buffer is too small; `written` says the size needed. */
export const WHV_E_INSUFFICIENT_BUFFER = 0x80370301;
/** WHV_E_UNKNOWN_PROPERTY: a partition property code this Windows does not know. */
export const WHV_E_UNKNOWN_PROPERTY = 0x80370302;
/** WHV_E_INVALID_PARTITION_CONFIG: the partition's configuration (its properties) is not valid for the call. */
export const WHV_E_INVALID_PARTITION_CONFIG = 0x80370304;
/** WHV_E_VP_DOES_NOT_EXIST: no VP with that index. */
export const WHV_E_VP_DOES_NOT_EXIST = 0x80370307;
/** WHV_E_INVALID_VP_STATE: an error of WHvGetVirtualProcessorState / WHvSetVirtualProcessorState for a state that cannot be accessed. */
export const WHV_E_INVALID_VP_STATE = 0x80370308;
/** A hypervisor status as HRESULT: the VP index does not exist in the partition. */
export const ERROR_HV_INVALID_VP_INDEX = 0xc035000e;

const HRESULT_NAMES: ReadonlyMap<number, string> = new Map([
  [E_INVALIDARG, 'E_INVALIDARG'],
  [E_HANDLE, 'E_HANDLE'],
  [E_ACCESSDENIED, 'E_ACCESSDENIED'],
  [E_OUTOFMEMORY, 'E_OUTOFMEMORY'],
  [HRESULT_PROC_NOT_FOUND, 'ERROR_PROC_NOT_FOUND'],
  [WHV_E_UNKNOWN_CAPABILITY, 'WHV_E_UNKNOWN_CAPABILITY'],
  [WHV_E_INSUFFICIENT_BUFFER, 'WHV_E_INSUFFICIENT_BUFFER'],
  [WHV_E_UNKNOWN_PROPERTY, 'WHV_E_UNKNOWN_PROPERTY'],
  [WHV_E_INVALID_PARTITION_CONFIG, 'WHV_E_INVALID_PARTITION_CONFIG'],
  [WHV_E_VP_DOES_NOT_EXIST, 'WHV_E_VP_DOES_NOT_EXIST'],
  [WHV_E_INVALID_VP_STATE, 'WHV_E_INVALID_VP_STATE'],
  [ERROR_HV_INVALID_VP_INDEX, 'ERROR_HV_INVALID_VP_INDEX'],
]);

/** The symbolic name of an HRESULT this backend knows, or undefined. */
export function hresultName(hr: number): string | undefined {
  return HRESULT_NAMES.get(hr >>> 0);
}

/** kernel32 wait result (`WaitForSingleObject`, `WaitForMultipleObjects`): the first handle is signalled; `WAIT_OBJECT_0 + i` the i-th. */
export const WAIT_OBJECT_0 = 0;
/** kernel32 wait result: the timeout elapsed with nothing signalled. */
export const WAIT_TIMEOUT = 0x102;
/** kernel32 wait result: the wait itself failed (GetLastError says why). */
export const WAIT_FAILED = 0xffffffff;
/** One `WaitForMultipleObjects` call waits on at most this many handles. */
export const MAXIMUM_WAIT_OBJECTS = 64;
