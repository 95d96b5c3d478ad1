/**
 * The MSI-X emulator: the capability in config space (`capability.ts`), the table and the
 * pending-bit array in BARs (`table.ts`), and the per-vector routes kept in step with what the guest
 * programs (`vector-routes.ts`, the route state machine). This class wires the three together.
 *
 * Guest-facing methods (`read*`, `write*`, `configRead`, `configWrite`, `signal`) never throw: every
 * access of any size, offset and alignment has a defined result (see README, "Access rules"), and
 * a route that fails is reported through `onError` while the vector keeps its interrupts pending.
 * The VMM's buffers and values are normalised by `access-args.ts`; one that cannot be used is
 * reported through `onError` too, and the access does nothing.
 */
import { type MsiPolicy, VirtError } from '@tsvmm/virt';
import { checkOptions } from '@tsvmm/virt/implement';
import { type AccessBytes, accessBytes, dwordValue, isRefusal, qwordHalves, refuseDword, refusePlace, refuseQword } from './access-args';
import { MsixCapabilityRegisters, checkNextPointer } from './capability';
import { checkDelivery } from './delivery-options';
import { type MsixLayout, type MsixLayoutOptions, checkLayout } from './layout';
import type { MsiInjector, MsixBatch, MsixErrorHandler, MsixRoute } from './route';
import { type MsixState, readState } from './state';
import { MsixTable, type MsixRegion } from './table';
import { MsixVectorRoutes } from './vector-routes';

export type { MsixRegion } from './table';

/**
 * The bytes of a BAR access (`read`'s `out`, `write`'s `data`): a Uint8Array (or Buffer), any other
 * typed array or a DataView (their bytes as they lie in memory), an ArrayBuffer, or an array of
 * byte numbers 0-255 (for `read`, not frozen: the emulator's bytes are stored into it).
 */
export type MsixAccessBuffer = ArrayBufferView | ArrayBufferLike | number[];

/** A register value: an integer as a number or a bigint (see each method for its range). */
export type MsixAccessValue = number | bigint;

/** What {@link MsixEmulator} is built from: the layout (vectors, table and PBA placement) and the delivery hooks. */
export interface MsixEmulatorOptions extends MsixLayoutOptions {
  /** Config-space offset of the next capability (the capability list is owned by the caller). Default 0. */
  readonly nextPointer?: number;
  /**
   * User-space delivery for vectors that have no route (`Partition.requestMsi`). Without it, a
   * vector with no route cannot deliver and its interrupts stay pending.
   */
  readonly requestMsi?: MsiInjector;
  /**
   * Which messages a route-less vector may send through `requestMsi` (checked before injecting, so
   * a guest's garbage never reaches the hypervisor). Routed vectors are checked by their route.
   * Default: `DEFAULT_MSI_POLICY` (upper address must be 0).
   */
  readonly policy?: MsiPolicy;
  /** Called with every route or injection failure. The emulator never throws into the guest path. */
  readonly onError?: MsixErrorHandler;
}

/** Options of {@link MsixEmulator.setRoutes}. */
export interface MsixRouteOptions {
  /** The backend's batch (`IrqFd.batch`): bulk transitions run inside one call of it. */
  readonly batch?: MsixBatch;
}

/** The MSI-X entry as the guest programmed it (diagnostic view; no side effects). */
export interface MsixEntry {
  /** Message Address (entry +0), unsigned 32-bit; bits 1:0 always read 0. */
  readonly addressLo: number;
  /** Message Upper Address (entry +4), unsigned 32-bit. */
  readonly addressHi: number;
  /** Message Data (entry +8), unsigned 32-bit. */
  readonly data: number;
  /** Vector Control (entry +12) bit 0, the vector's own Mask bit (Enable and Function Mask not included). */
  readonly masked: boolean;
}

/**
 * One PCI function's MSI-X: the 12-byte capability in config space, the vector table and the
 * pending-bit array in BARs (PCI Local Bus / PCIe Base, "MSI-X Capability and Table Structure"),
 * kept in step with one {@link MsixRoute} per vector. A vector whose route is armed delivers
 * without the VMM; a masked vector's signals latch and read back as its pending bit.
 *
 * Guest-facing methods never throw; setup and diagnostic methods throw INVALID_ARGUMENT.
 */
export class MsixEmulator {
  /** The checked layout: vector count, table and PBA placement and sizes (bytes). */
  readonly layout: MsixLayout;
  /** Number of vectors, 1 to 2048 (Table Size + 1). */
  readonly vectors: number;

  private readonly cap: MsixCapabilityRegisters;
  private readonly table: MsixTable;
  private readonly routes: MsixVectorRoutes;
  private readonly halves = new Uint32Array(2);

  /**
   * An emulator in the reset state (Enable 0, Function Mask 0, every vector masked, nothing
   * pending), with no routes. INVALID_ARGUMENT for a bad layout (see {@link checkLayout}), a
   * `nextPointer` outside 0-0xFF, a `requestMsi` or `onError` that is not a function, or a malformed policy.
   */
  constructor(options: MsixEmulatorOptions) {
    const op = 'new MsixEmulator';
    checkOptions<MsixEmulatorOptions>(op, 'options', options, ['vectors', 'table', 'pba', 'nextPointer', 'requestMsi', 'policy', 'onError']);
    this.layout = checkLayout(op, options);
    this.vectors = this.layout.vectors;
    const nextPointer = checkNextPointer(op, options.nextPointer ?? 0);
    const { inject, policy, onError } = checkDelivery(op, options);
    this.cap = new MsixCapabilityRegisters(this.layout, nextPointer);
    this.routes = new MsixVectorRoutes(this.vectors, {
      inject,
      policy,
      onError,
      resync: (v) => this.table.drive(v, true),
    });
    // The table reports each entry change to the route state machine directly, in one call.
    this.table = new MsixTable(this.layout, this.cap, this.routes);
  }

  // ---------------------------------------------------------------- state getters (no side effects)

  /** Message Control bit 15, MSI-X Enable. */
  get enabled(): boolean {
    return this.cap.enable;
  }

  /** Message Control bit 14, Function Mask. */
  get functionMasked(): boolean {
    return this.cap.functionMask;
  }

  /**
   * The Next Capability pointer (capability +1), a config-space offset 0-0xFF. The config-space
   * code owns the capability list and sets it here; INVALID_ARGUMENT outside 0-0xFF.
   */
  get nextPointer(): number {
    return this.cap.nextPointer;
  }

  /** Sets the Next Capability pointer; INVALID_ARGUMENT unless `value` is an integer 0-0xFF. */
  set nextPointer(value: number) {
    this.cap.nextPointer = checkNextPointer('MsixEmulator.nextPointer', value);
  }

  /** Failures reported through `onError` so far: route and injection failures, and refused access arguments. */
  get errorCount(): number {
    return this.routes.errors;
  }

  /** The most recent failure reported through `onError`, or undefined when none was reported. */
  get lastError(): Error | undefined {
    return this.routes.lastError;
  }

  /** The entry as the guest programmed it. INVALID_ARGUMENT for a vector out of range. */
  entry(vector: number): MsixEntry {
    this.routes.checkVector('MsixEmulator.entry', vector);
    const b = vector * 4;
    const w = this.table.words;
    return { addressLo: w[b]!, addressHi: w[b + 1]!, data: w[b + 2]!, masked: (w[b + 3]! & 1) === 1 };
  }

  /**
   * True when the vector is masked in the spec's sense: Enable clear, Function Mask set or its own
   * Mask bit set (independent of whether its message is valid). INVALID_ARGUMENT for a vector out of range.
   */
  isMasked(vector: number): boolean {
    this.routes.checkVector('MsixEmulator.isMasked', vector);
    return !this.table.unmasked(vector);
  }

  /**
   * True while the vector really delivers (unmasked, message accepted, route armed or injector
   * present). INVALID_ARGUMENT for a vector out of range.
   */
  isDelivering(vector: number): boolean {
    this.routes.checkVector('MsixEmulator.isDelivering', vector);
    return this.routes.open[vector] === 1;
  }

  /**
   * The pending bit the emulator holds now, without asking routes (a guest PBA read also folds
   * route-latched signals in). INVALID_ARGUMENT for a vector out of range.
   */
  isPendingHeld(vector: number): boolean {
    this.routes.checkVector('MsixEmulator.isPendingHeld', vector);
    return this.routes.pending[vector] === 1;
  }

  // ---------------------------------------------------------------- BAR dispatch

  /**
   * Which structure owns byte `offset` of BAR `bar`, if any: a device model dispatches with this.
   * An offset that is not a safe integer belongs to neither (as `read`/`write` ignore it), so
   * dispatch and access always agree.
   */
  region(bar: number, offset: number): MsixRegion | undefined {
    return this.table.region(bar, offset);
  }

  /**
   * True when any byte of `[offset, offset + length)` in BAR `bar` belongs to the table or the PBA,
   * i.e. exactly when `read`/`write` of that access would return true. Any arguments are taken, as
   * the guest chooses them: an `offset` that is not a safe integer, or a `length` that is not a
   * number above 0 (a string, a bigint, a symbol, NaN), claims nothing (false). Never throws.
   */
  claims(bar: number, offset: number, length: number): boolean {
    return this.table.claims(bar, offset, length);
  }

  // ---------------------------------------------------------------- MMIO
  //
  // `bar`, `offset` and sizes may be any number (the guest chooses them; see README, "Access
  // rules"). Buffers and values come from the VMM: one that cannot be used (wrong type, a value out
  // of range) is reported to `onError` as INVALID_ARGUMENT (vector -1, the method as operation) and
  // the access does nothing and returns what an access of nobody's bytes returns.

  /**
   * A DWORD read. Aligned DWORDs of the table and PBA read per the spec; any other offset reads
   * as {@link read} with 4 bytes (bytes outside the structures read 0). 0 for a `bar` or `offset`
   * that is not a number (reported).
   */
  read32(bar: number, offset: number): number {
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse('MsixEmulator.read32', place, 0);
    return this.table.read32(bar, offset);
  }

  /**
   * A DWORD write of `value`: an integer 0 to 0xFFFFFFFF as a number or a bigint. See {@link write}
   * for anything other than an aligned table DWORD. Any other value is refused (reported, nothing written).
   */
  write32(bar: number, offset: number, value: MsixAccessValue): void {
    const op = 'MsixEmulator.write32';
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const v = dwordValue(value);
    if (v < 0) return this.routes.refuse(op, refuseDword('value', value), undefined);
    this.table.write32(bar, offset, v);
  }

  /**
   * A QWORD read as a bigint. For bigint-free QWORD reads use {@link read} with 8 bytes. 0n for a
   * `bar` or `offset` that is not a number (reported).
   */
  read64(bar: number, offset: number): bigint {
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse('MsixEmulator.read64', place, 0n);
    return this.table.read64(bar, offset);
  }

  /**
   * A QWORD write of `value`: a bigint 0n to 2^64-1, or a number that is a safe integer (0 to
   * 2^53-1). Any other value is refused (reported, nothing written).
   */
  write64(bar: number, offset: number, value: MsixAccessValue): void {
    const op = 'MsixEmulator.write64';
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const h = this.halves;
    if (!qwordHalves(value, h)) return this.routes.refuse(op, refuseQword('value', value), undefined);
    this.table.write64Halves(bar, offset, h[0]!, h[1]!);
  }

  /**
   * A QWORD write given as its low and high DWORDs (each an integer 0 to 0xFFFFFFFF, number or
   * bigint). An aligned QWORD at entry +0 sets address low and high at once; at +8 it sets data and
   * vector control at once. Any other halves are refused (reported, nothing written).
   */
  write64Halves(bar: number, offset: number, lo: MsixAccessValue, hi: MsixAccessValue): void {
    const op = 'MsixEmulator.write64Halves';
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const l = dwordValue(lo);
    if (l < 0) return this.routes.refuse(op, refuseDword('lo', lo), undefined);
    const h = dwordValue(hi);
    if (h < 0) return this.routes.refuse(op, refuseDword('hi', hi), undefined);
    this.table.write64Halves(bar, offset, l, h);
  }

  /**
   * Reads the length of `out` in bytes (any length, offset, alignment) at `offset` of BAR `bar`,
   * little endian. Bytes that fall in the table or the PBA are filled; the others are left as they
   * are, for the device model's other registers. Returns true if any byte was the emulator's.
   * `out` is any {@link MsixAccessBuffer}; anything else is refused (reported, false).
   */
  read(bar: number, offset: number, out: MsixAccessBuffer): boolean {
    const op = 'MsixEmulator.read';
    const bytes = this.accessBuffer(op, bar, offset, 'out', out, true);
    if (bytes === undefined) return false;
    if (bytes instanceof Uint8Array) return this.table.readInto(bar, offset, bytes.length, bytes);
    return this.readIntoArray(op, bar, offset, bytes);
  }

  /**
   * Writes `data` (any length, offset, alignment) at `offset` of BAR `bar`. Bytes outside the
   * table are ignored (PBA bytes too: the PBA is read-only). Each table entry the write covers is
   * updated at once, with the written bytes merged into its DWORDs. Returns true if any byte was
   * the emulator's. `data` is any {@link MsixAccessBuffer}; anything else, or an array holding
   * something other than bytes 0-255, is refused (reported, nothing written, false).
   */
  write(bar: number, offset: number, data: MsixAccessBuffer): boolean {
    const bytes = this.accessBuffer('MsixEmulator.write', bar, offset, 'data', data, false);
    if (bytes === undefined) return false;
    const b = bytes as Uint8Array;
    return this.table.writeFrom(bar, offset, b.length, b);
  }

  /**
   * The checked place and buffer of `read` (`writable`) or `write`, or undefined when one is
   * refused (reported to `onError`; the access then does nothing).
   */
  private accessBuffer(op: string, bar: number, offset: number, name: 'out' | 'data', buffer: MsixAccessBuffer, writable: boolean): AccessBytes | undefined {
    const place = refusePlace(bar, offset);
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const bytes = accessBytes(name, buffer, writable);
    return isRefusal(bytes) ? this.routes.refuse(op, bytes, undefined) : bytes;
  }

  /**
   * `read` into a plain array: the emulator's bytes go through a scratch copy of the window they
   * occupy, and only they are stored, so the array's other elements stay as they are.
   */
  private readIntoArray(op: string, bar: number, offset: number, out: number[]): boolean {
    const n = out.length;
    if (!this.table.claims(bar, offset, n)) return false;
    const l = this.layout;
    let from = Infinity;
    let to = -Infinity;
    if (bar === l.tableBir) {
      from = Math.max(offset, l.tableOffset);
      to = Math.min(offset + n, l.tableOffset + l.tableSize);
    }
    if (bar === l.pbaBir) {
      const pFrom = Math.max(offset, l.pbaOffset);
      const pTo = Math.min(offset + n, l.pbaOffset + l.pbaSize);
      if (pFrom < pTo) {
        if (!(from < to)) from = pFrom;
        from = Math.min(from, pFrom);
        to = Math.max(to, pTo);
      }
    }
    const scratch = new Uint8Array(to - from);
    this.table.readInto(bar, from, scratch.length, scratch);
    try {
      for (let a = from; a < to; a++) if (this.table.region(bar, a) !== undefined) out[a - offset] = scratch[a - from]!;
    } catch (e) {
      this.routes.report(new VirtError('INVALID_ARGUMENT', { operation: op, detail: `out could not be stored into (${e instanceof Error ? e.name : typeof e})`, hint: 'Pass a Uint8Array or a plain, writable array.', cause: e }), -1, op);
    }
    return true;
  }

  // ---------------------------------------------------------------- config space

  /**
   * Reads `size` bytes (1-4) at `offset` within the 12-byte capability, little endian. Bytes
   * outside the capability read 0, as do other sizes. 0 for an `offset` or `size` that is not a
   * number (reported to `onError` as INVALID_ARGUMENT).
   */
  configRead(offset: number, size: number): number {
    const place = refusePlace(offset, size, 'offset', 'size');
    if (place !== undefined) return this.routes.refuse('MsixEmulator.configRead', place, 0);
    this.table.commitStaged();
    return this.cap.read(offset, size);
  }

  /**
   * Writes `size` bytes (1-4) of `value` at `offset` within the capability. Only Message Control
   * bits 15 (Enable) and 14 (Function Mask), i.e. byte +3 bits 7:6, are writable; everything else
   * is read-only and the write to it is dropped. `value` is an integer 0 to 0xFFFFFFFF, number or
   * bigint (its low `size` bytes are written); any other value, or an `offset` or `size` that is
   * not a number, is refused (reported to `onError` as INVALID_ARGUMENT, nothing written).
   */
  configWrite(offset: number, size: number, value: MsixAccessValue): void {
    const op = 'MsixEmulator.configWrite';
    const place = refusePlace(offset, size, 'offset', 'size');
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const v = dwordValue(value);
    if (v < 0) return this.routes.refuse(op, refuseDword('value', value), undefined);
    this.table.commitStaged();
    const control = this.cap.controlWrite(offset, size, v);
    if (control !== undefined) this.setControl(control[0], control[1]);
  }

  /** Enable / Function Mask transitions: every route whose state changes, in one batch. */
  private setControl(enable: boolean, functionMask: boolean): void {
    const cap = this.cap;
    const wasEnabled = cap.enable;
    const wasOpen = cap.functionOpen;
    if (enable === wasEnabled && functionMask === cap.functionMask) return;
    cap.setControl(enable, functionMask);
    if (wasEnabled && !enable) {
      // Disable: every route masked and cleared.
      this.routes.bulk(() => {
        for (let v = 0; v < this.vectors; v++) this.sync(v);
      });
    } else if (enable && (!wasEnabled || wasOpen !== cap.functionOpen)) {
      // Enable, or Function Mask changed: open vectors armed (pending ones delivered once), closed
      // ones masked, and masked ones preloaded so their later unmask costs no commit.
      this.routes.bulk(() => this.routes.resyncAll());
    }
  }

  // ---------------------------------------------------------------- device side

  /**
   * The device raises vector `vector` (the user-space path, for emulated devices). If the vector
   * delivers, the interrupt goes through its route's event (or `requestMsi` when it has no route);
   * otherwise its pending bit is set, and it is delivered once when the vector opens. Returns true
   * if it was sent now. A vector that does not exist is ignored (false). Never throws.
   */
  signal(vector: number): boolean {
    if (!(Number.isInteger(vector) && vector >= 0 && vector < this.vectors)) return false;
    this.table.commitStaged();
    const b = vector * 4;
    const w = this.table.words;
    return this.routes.signal(vector, w[b]!, w[b + 1]!, w[b + 2]!);
  }

  // ---------------------------------------------------------------- routes

  /**
   * Attaches one route per vector (`undefined` for a vector that has none: it then delivers through
   * `requestMsi`). The routes' current state is unknown to the emulator, so every route is driven
   * to the guest's state, in one batch. Replaces (detaches) routes set before.
   * INVALID_ARGUMENT, before any change, for a wrong length or something that is not a route.
   */
  setRoutes(routes: readonly (MsixRoute | undefined)[], options: MsixRouteOptions = {}): void {
    checkOptions<MsixRouteOptions>('MsixEmulator.setRoutes', 'options', options, ['batch']);
    const batch = options.batch;
    this.routes.check('MsixEmulator.setRoutes', routes, batch);
    if (this.routes.attached) this.clearRoutes();
    this.table.commitStaged();
    this.routes.attach(routes, batch);
  }

  /**
   * Detaches the routes: each is masked and loses its message, and a signal latched in it moves
   * into the pending bit (nothing is lost). Vectors then deliver through `requestMsi`, if given.
   */
  clearRoutes(): void {
    if (!this.routes.attached) return;
    this.table.commitStaged();
    this.routes.detach();
    for (let v = 0; v < this.vectors; v++) this.sync(v);
  }

  /**
   * Drives every route to the guest's state again, in one batch. The emulator does this itself on
   * every transition; call it after a reported failure (e.g. a failed commit) once the cause is gone.
   */
  resync(): void {
    this.table.commitStaged();
    this.routes.bulk(() => this.routes.resyncAll());
  }

  // ---------------------------------------------------------------- reset, save, restore

  /**
   * Function reset: Enable 0, Function Mask 0, every vector masked with address and data 0, no
   * pending bits. Routes stay attached: masked, without a message, their latched signals dropped.
   */
  reset(): void {
    this.table.reset();
    this.cap.setControl(false, false);
    this.routes.pending.fill(0);
    this.routes.dropLatches();
  }

  /**
   * The table, PBA and control state, as plain JSON-able data. Signals latched in routes are folded
   * into the pending bits first, so the snapshot holds every pending interrupt.
   */
  save(): MsixState {
    this.table.commitStaged();
    for (let v = 0; v < this.vectors; v++) this.routes.pendingBit(v);
    const pending: number[] = [];
    for (let v = 0; v < this.vectors; v++) if (this.routes.pending[v] === 1) pending.push(v);
    return {
      version: 1,
      vectors: this.vectors,
      enable: this.cap.enable,
      functionMask: this.cap.functionMask,
      table: Array.from(this.table.words),
      pending,
    };
  }

  /**
   * Restores a {@link save} snapshot taken from an emulator with the same vector count. Signals
   * latched in the routes are dropped (the snapshot's pending bits replace them) and every route is
   * driven to the restored state, in one batch. The snapshot is copied first, each field read once
   * from an own data property; the copy is checked and applied. INVALID_ARGUMENT, before any
   * change, for a snapshot that does not fit, or with an accessor or a field inherited from its prototype.
   */
  restore(snapshot: MsixState): void {
    // Applied from the checked copy: `snapshot` itself is not read again.
    const state = readState('MsixEmulator.restore', snapshot, this.vectors);
    this.table.stagedVector = -1;
    const w = this.table.words;
    for (let i = 0; i < w.length; i++) {
      const x = state.table[i]!;
      w[i] = (i & 3) === 0 ? x & ~3 : (i & 3) === 3 ? x & 1 : x;
    }
    const pending = this.routes.pending;
    pending.fill(0);
    for (const v of state.pending) pending[v] = 1;
    this.cap.setControl(state.enable, state.functionMask);
    this.routes.dropLatches();
  }

  // ---------------------------------------------------------------- wiring

  /** Drives vector `v`'s route from the registers (a staged entry keeps its last complete address). */
  private sync(v: number): void {
    this.table.drive(v, false);
  }
}
