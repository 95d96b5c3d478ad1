/**
 * One typed function per MSHV ioctl tsvmm issues outside the shared irqfd engine (which writes
 * MSHV_SET_MSI_ROUTING and MSHV_IRQFD itself, from the layouts), each going through the injectable
 * {@link Syscalls}, and the encoder of each argument struct (tested byte for byte against the UAPI
 * header's layouts).
 *
 * The calls return what the system call returned (a new fd, 0, or -errno): callers decide which
 * typed error a failure becomes, because the same errno means different things per step.
 */
import { type FieldValues, encodeStruct, packStruct } from '@tsvmm/ffi';
import { type Syscalls, ioctlCall, ioctlCallWithoutArg } from '@tsvmm/linux-sys';
import {
  HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT,
  MSHV_CREATE_PARTITION,
  MSHV_CREATE_PARTITION_LAYOUT,
  MSHV_CREATE_VP,
  MSHV_CREATE_VP_LAYOUT,
  MSHV_GET_SET_VP_STATE_LAYOUT,
  MSHV_GET_VP_STATE,
  MSHV_INITIALIZE_PARTITION,
  MSHV_ROOT_HVCALL,
  MSHV_ROOT_HVCALL_LAYOUT,
  MSHV_SET_VP_STATE,
} from './abi';

// ---- encoders ----

/** `struct mshv_create_partition` (16 bytes). */
export function encodeCreatePartition(ptFlags: bigint, ptIsolation = 0n): Uint8Array {
  return packStruct(MSHV_CREATE_PARTITION_LAYOUT, { ptFlags, ptIsolation });
}

/** `struct mshv_create_vp` (4 bytes). */
export function encodeCreateVp(vpIndex: number): Uint8Array {
  return packStruct(MSHV_CREATE_VP_LAYOUT, { vpIndex });
}

/** The fields of `struct mshv_root_hvcall` a caller sets (`status` and `rsvd` are 0 on input). */
export interface MshvHvcallArgs {
  /** The hypercall code (`code` u16 @0), one on the kernel's allow-list, such as HVCALL_ASSERT_VIRTUAL_INTERRUPT. */
  readonly code: number;
  /** Repetitions of a rep hypercall (`reps` u16 @2); default 0. */
  readonly reps?: number;
  /** Input size in bytes (`in_sz` u16 @4): 8 to 4096, else EINVAL. */
  readonly inSz: number;
  /** Output size in bytes (`out_sz` u16 @6); 0 when the hypercall has no output. */
  readonly outSz: number;
  /** User address of the input (`in_ptr` u64 @16): memory that stays put, from a `UserMemory`. */
  readonly inPtr: bigint;
  /** User address of the output (`out_ptr` u64 @24); default 0 (none). */
  readonly outPtr?: bigint;
}

/** Encodes `struct mshv_root_hvcall` (32 bytes) with `status` and the reserved words 0, as the kernel requires on input. */
export function encodeRootHvcall(args: MshvHvcallArgs): Uint8Array {
  return packStruct(MSHV_ROOT_HVCALL_LAYOUT, {
    code: args.code,
    reps: args.reps ?? 0,
    inSz: args.inSz,
    outSz: args.outSz,
    status: 0,
    inPtr: args.inPtr,
    outPtr: args.outPtr ?? 0n,
  });
}

/** `struct mshv_get_set_vp_state`. */
export function encodeVpState(type: number, bufSz: number, bufPtr: bigint): Uint8Array {
  return packStruct(MSHV_GET_SET_VP_STATE_LAYOUT, { type, bufSz, bufPtr });
}

/** The fields of the HVCALL_ASSERT_VIRTUAL_INTERRUPT input. */
export interface AssertVirtualInterruptArgs {
  /** Interrupt type (bits 31:0 of the control word, `HV_INTERRUPT_TYPE`) plus the level and logical bits. */
  readonly control: bigint;
  /** APIC ID (physical) or logical destination. */
  readonly destination: number;
  /** The vector (MSI data bits 7:0). Not checked here: `parseMshvMsi` refuses 0 and fixed vectors below 16. */
  readonly vector: number;
}

/** Encodes the 32-byte input into `out` (partition_id 0: the kernel fills it; target VTL 0; reserved 0). */
export function encodeAssertVirtualInterrupt(args: AssertVirtualInterruptArgs, out: Uint8Array): void {
  const values: FieldValues<keyof typeof HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT.fields> = {
    partitionId: 0n,
    control: args.control,
    destination: BigInt(args.destination >>> 0),
    vector: args.vector >>> 0,
    targetVtl: 0,
  };
  encodeStruct(HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT, new DataView(out.buffer, out.byteOffset, out.byteLength), 0, values);
}

// ---- calls ----

/** MSHV_CREATE_PARTITION on the /dev/mshv fd: the partition fd, or -errno. */
export function createPartition(sys: Syscalls, mshvFd: number, ptFlags: bigint, ptIsolation = 0n): number {
  return sys.ioctl(mshvFd, MSHV_CREATE_PARTITION, encodeCreatePartition(ptFlags, ptIsolation));
}

/** MSHV_INITIALIZE_PARTITION on a partition fd: 0 or -errno. */
export const initializePartition = ioctlCallWithoutArg(MSHV_INITIALIZE_PARTITION);

/** MSHV_CREATE_VP: the VP fd, or -errno (EINVAL for an index >= 256, EEXIST when taken). */
export function createVp(sys: Syscalls, partitionFd: number, vpIndex: number): number {
  return sys.ioctl(partitionFd, MSHV_CREATE_VP, encodeCreateVp(vpIndex));
}

/** What MSHV_ROOT_HVCALL returned: the ioctl result and the hypervisor status the kernel wrote back. */
export interface HvcallResult {
  /** What the ioctl returned: 0 or more on success, -errno on failure. */
  readonly result: number;
  /** The hypervisor status (`status` u16 @8) the kernel wrote back: 0 for success or when it failed before the hypervisor; see `hvStatusName`. */
  readonly status: number;
}

/** MSHV_ROOT_HVCALL on a partition or VP fd. `arg` is an encoded `struct mshv_root_hvcall` (reused). */
export function rootHvcall(sys: Syscalls, fd: number, arg: Uint8Array): HvcallResult {
  const result = sys.ioctl(fd, MSHV_ROOT_HVCALL, arg);
  const status = new DataView(arg.buffer, arg.byteOffset, arg.byteLength).getUint16(MSHV_ROOT_HVCALL_LAYOUT.fields.status.offset, true);
  return { result, status };
}

/** MSHV_GET_VP_STATE on a VP fd with an encoded `struct mshv_get_set_vp_state`: 0 or -errno; the kernel writes the state at `buf_ptr` and the size into `buf_sz`. */
export const getVpState = ioctlCall<Uint8Array>(MSHV_GET_VP_STATE);

/** MSHV_SET_VP_STATE on a VP fd with an encoded `struct mshv_get_set_vp_state`: 0 or -errno. */
export const setVpState = ioctlCall<Uint8Array>(MSHV_SET_VP_STATE);
