/**
 * The plain MSI emulator: the MSI capability in config space (all four layouts) kept in step with
 * one route per vector, through the same route state machine as MSI-X (`vector-routes.ts`).
 *
 * Guest-facing methods (`configRead`, `configWrite`, `signal`) never throw: every access of any
 * size, offset and alignment has a defined result, and a route that fails is reported through
 * `onError` while the vector keeps its interrupts pending.
 */
import { type MsiPolicy } from '@tsvmm/virt';
import { invalidArgument, checkOptions } from '@tsvmm/virt/implement';
import { dwordValue, refuseDword, refusePlace } from './access-args';
import { checkNextPointer } from './capability';
import { checkDelivery } from './delivery-options';
import type { MsixAccessValue, MsixRouteOptions } from './emulator';
import {
  MSI_ADDRESS_HI,
  MSI_ADDRESS_LO,
  MSI_CAPABILITY_ID,
  MSI_CONTROL_64BIT,
  MSI_CONTROL_ENABLE,
  MSI_CONTROL_PER_VECTOR_MASKING,
  type MsiLayout,
  type MsiLayoutOptions,
  checkMsiLayout,
} from './msi-layout';
import { type MsiState, readMsiState } from './msi-state';
import type { MsiInjector, MsixErrorHandler, MsixRoute } from './route';
import { MsixVectorRoutes } from './vector-routes';

/**
 * Called after MSI Enable or Multiple Message Enable changed (the change is in effect): by a guest
 * write, by {@link MsiEmulator.reset}, or by {@link MsiEmulator.restore} of a snapshot whose values
 * differ from the emulator's. `enabled` is MSI Enable, `vectors` the vectors granted, 2^MME. A
 * VFIO wiring re-issues `VFIO_DEVICE_SET_IRQS` (MSI index, `count` = `vectors`) from here. What it
 * throws goes to `onError`.
 */
export type MsiControlHandler = (enabled: boolean, vectors: number) => void;

/** What {@link MsiEmulator} is built from: the layout and the delivery hooks. */
export interface MsiEmulatorOptions extends MsiLayoutOptions {
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
  /** Called after each change of MSI Enable or Multiple Message Enable (guest write, reset, restore); see {@link MsiControlHandler}. */
  readonly onControl?: MsiControlHandler;
}

/** The message vector `vector` sends (diagnostic view; no side effects). */
export interface MsiMessageView {
  /** Message Address, unsigned 32-bit; bits 1:0 always 0. */
  readonly addressLo: number;
  /** Message Upper Address, unsigned 32-bit; always 0 in a 32-bit layout. */
  readonly addressHi: number;
  /** Message Data with its low log2(vectors granted) bits replaced by the vector number; 16 bits. */
  readonly data: number;
}

const ALL_ONES = 0xffffffff;

/**
 * One PCI function's plain MSI (PCI Local Bus 3.0, section 6.8.1; PCIe Base, "MSI Capability
 * Structure"): the capability in config space, in any of its four layouts (32 or 64-bit address,
 * with or without per-vector masking), kept in step with one {@link MsixRoute} per vector — the
 * route interface {@link MsixEmulator} drives, with the same delivery contract.
 *
 * - Multiple Message Enable = m grants N = 2^m vectors; vector k < N sends Message Data with its
 *   low m bits replaced by k (the function's rule; software's value of those bits is ignored), to
 *   {Upper Address : Address}. Vectors at or above N cannot send: their routes are masked and
 *   carry no message, and a signal on them is dropped.
 * - With per-vector masking, a masked vector's interrupt sets its Pending bit instead of being
 *   sent, and unmasking it delivers it once. Without it, MSI Enable is the only switch.
 * - Interrupts raised while MSI Enable is 0 are held and delivered once at Enable (as MsixEmulator
 *   does), except that a reset, or a change of N that adds or removes the vector, drops them.
 * - The guest may rewrite Address, Upper Address and Data while vectors are live (Linux does not
 *   mask first): the routes keep the last complete message until Data is written or any other
 *   access happens, then every live route is retargeted in one batch, losing nothing.
 *
 * Guest-facing methods never throw; setup and diagnostic methods throw INVALID_ARGUMENT.
 */
export class MsiEmulator {
  /** The checked layout: vector count, address width, masking, register offsets and size (bytes). */
  readonly layout: MsiLayout;
  /** Vectors the function requests: 2^(Multiple Message Capable), 1 to 32. */
  readonly vectors: number;
  /** Bytes of the capability in config space: 0x0A, 0x0E, 0x14 or 0x18. */
  readonly size: number;

  private readonly routes: MsixVectorRoutes;
  private readonly onControl: MsiControlHandler | undefined;
  private readonly implementedMask: number;
  private next: number;

  // The registers as the guest reads them.
  private enable = false;
  private mme = 0;
  private addressLo = 0;
  private addressHi = 0;
  private data = 0;
  private mask = 0;

  /** The message the routes carry: the registers, except while an address rewrite is staged. */
  private liveLo = 0;
  private liveHi = 0;
  private liveData = 0;
  private staged = false;

  /**
   * An emulator in the power-on state (Enable 0, MME 0, Address, Upper Address, Data and Mask Bits
   * 0, nothing pending), with no routes. INVALID_ARGUMENT for a bad layout (`vectors` not 1, 2, 4,
   * 8, 16 or 32; `address64` or `perVectorMasking` not a boolean), a `nextPointer` outside 0-0xFF,
   * a `requestMsi`, `onError` or `onControl` that is not a function, a malformed policy, or an
   * unknown option.
   */
  constructor(options: MsiEmulatorOptions) {
    const op = 'new MsiEmulator';
    checkOptions<MsiEmulatorOptions>(op, 'options', options, ['vectors', 'address64', 'perVectorMasking', 'nextPointer', 'requestMsi', 'policy', 'onError', 'onControl']);
    this.layout = checkMsiLayout(op, options);
    this.vectors = this.layout.vectors;
    this.size = this.layout.size;
    this.next = checkNextPointer(op, options.nextPointer ?? 0);
    const { inject, policy, onError } = checkDelivery(op, options);
    const onControl = options.onControl; // read once: the checked value is the one kept
    if (onControl !== undefined && typeof onControl !== 'function') {
      throw invalidArgument(op, 'onControl must be a function (enabled, vectors) => void');
    }
    this.onControl = onControl;
    this.implementedMask = !this.layout.perVectorMasking ? 0 : this.vectors === 32 ? ALL_ONES : (1 << this.vectors) - 1;
    this.routes = new MsixVectorRoutes(this.vectors, { inject, policy, onError, resync: (v) => this.sync(v) });
  }

  // ---------------------------------------------------------------- state getters (no side effects)

  /** Message Control bit 0, MSI Enable. */
  get enabled(): boolean {
    return this.enable;
  }

  /** Message Control bits 6:4, Multiple Message Enable: log2 of the vectors granted, 0 to log2(`vectors`). */
  get multipleMessageEnable(): number {
    return this.mme;
  }

  /** Vectors granted, 2^(Multiple Message Enable): only vectors below this can send. */
  get liveVectors(): number {
    return 1 << this.mme;
  }

  /** Mask Bits (bit v = vector v masked); always 0 without per-vector masking. */
  get maskBits(): number {
    return this.mask >>> 0;
  }

  /**
   * The Next Capability pointer (capability +1), a config-space offset 0-0xFF. The config-space
   * code owns the capability list and sets it here; INVALID_ARGUMENT outside 0-0xFF.
   */
  get nextPointer(): number {
    return this.next;
  }

  /** Sets the Next Capability pointer; INVALID_ARGUMENT unless `value` is an integer 0-0xFF. */
  set nextPointer(value: number) {
    this.next = checkNextPointer('MsiEmulator.nextPointer', value);
  }

  /** Failures reported through `onError` so far: route, injection and `onControl` failures, and refused access arguments. */
  get errorCount(): number {
    return this.routes.errors;
  }

  /** The most recent failure reported through `onError`, or undefined when none was reported. */
  get lastError(): Error | undefined {
    return this.routes.lastError;
  }

  /**
   * The message vector `vector` sends with the registers as the guest wrote them (Data's low
   * log2(liveVectors) bits replaced by the vector number). INVALID_ARGUMENT for a vector outside
   * 0 to `vectors` - 1.
   */
  message(vector: number): MsiMessageView {
    this.routes.checkVector('MsiEmulator.message', vector);
    return { addressLo: this.addressLo, addressHi: this.addressHi, data: this.vectorData(this.data, vector) };
  }

  /**
   * True when the vector cannot send: MSI Enable clear, the vector not granted (at or above
   * `liveVectors`), or its Mask bit set. INVALID_ARGUMENT for a vector out of range.
   */
  isMasked(vector: number): boolean {
    this.routes.checkVector('MsiEmulator.isMasked', vector);
    return !this.unmasked(vector);
  }

  /**
   * True while the vector really delivers (unmasked, message accepted, route armed or injector
   * present). INVALID_ARGUMENT for a vector out of range.
   */
  isDelivering(vector: number): boolean {
    this.routes.checkVector('MsiEmulator.isDelivering', vector);
    return this.routes.open[vector] === 1;
  }

  /**
   * The pending bit the emulator holds now, without asking routes (a guest read of Pending Bits
   * also folds route-latched signals in). INVALID_ARGUMENT for a vector out of range.
   */
  isPendingHeld(vector: number): boolean {
    this.routes.checkVector('MsiEmulator.isPendingHeld', vector);
    return this.routes.pending[vector] === 1;
  }

  // ---------------------------------------------------------------- config space

  /**
   * Reads `size` bytes (1-4) at `offset` within the capability, little endian. Bytes outside the
   * capability read 0, as do other sizes and non-integer offsets. Reading Pending Bits folds
   * signals latched in masked routes into the bits (nothing is drained from a delivering route).
   * 0 for an `offset` or `size` that is not a number (reported to `onError` as INVALID_ARGUMENT).
   */
  configRead(offset: number, size: number): number {
    const place = refusePlace(offset, size, 'offset', 'size');
    if (place !== undefined) return this.routes.refuse('MsiEmulator.configRead', place, 0);
    this.commitStaged();
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) return 0;
    const p = this.layout.pendingOffset;
    const pending = p >= 0 && offset < p + 4 && offset + size > p ? this.pendingBits() : 0;
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.byte(offset + i, pending) << (8 * i);
    return value >>> 0;
  }

  /**
   * Writes `size` bytes (1-4) of `value` at `offset` within the capability. Writable: MSI Enable
   * and Multiple Message Enable (clamped to Multiple Message Capable, as QEMU does), Message
   * Address bits 31:2, Upper Address (64-bit layouts), the 16-bit Data, and the Mask Bits of
   * requested vectors; everything else is read-only or reserved and the write to it is dropped.
   * A write that only touches Address or Upper Address is staged (the routes keep the last
   * complete message) until Data is written or any other access happens. `value` is an integer 0
   * to 0xFFFFFFFF (or a negative int32), number or bigint, of which the low `size` bytes are
   * written; any other value, or an `offset` or `size` that is not a number, is refused (reported
   * to `onError` as INVALID_ARGUMENT, nothing written).
   */
  configWrite(offset: number, size: number, value: MsixAccessValue): void {
    const op = 'MsiEmulator.configWrite';
    const place = refusePlace(offset, size, 'offset', 'size');
    if (place !== undefined) return this.routes.refuse(op, place, undefined);
    const v = dwordValue(value);
    if (v < 0) return this.routes.refuse(op, refuseDword('value', value), undefined);
    if (!(size >= 1 && size <= 4) || !Number.isInteger(size) || !Number.isInteger(offset)) {
      this.commitStaged();
      return;
    }
    const l = this.layout;
    const wasEnabled = this.enable;
    const wasLive = this.liveVectors;
    const wasMask = this.mask;
    const wasData = this.data;
    let touchedAddress = false;
    let touchedOther = false;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const b = (v >>> (8 * i)) & 0xff;
      if (at === 2) {
        this.enable = (b & MSI_CONTROL_ENABLE) !== 0;
        this.mme = Math.min((b >>> 4) & 7, l.multipleMessageCapable);
        touchedOther = true;
      } else if (at >= MSI_ADDRESS_LO && at < MSI_ADDRESS_LO + 4) {
        const shift = 8 * (at - MSI_ADDRESS_LO);
        this.addressLo = ((this.addressLo & ~(0xff << shift)) | (b << shift)) & ~3;
        touchedAddress = true;
      } else if (l.address64 && at >= MSI_ADDRESS_HI && at < MSI_ADDRESS_HI + 4) {
        const shift = 8 * (at - MSI_ADDRESS_HI);
        this.addressHi = (this.addressHi & ~(0xff << shift)) | (b << shift);
        touchedAddress = true;
      } else if (at >= l.dataOffset && at < l.dataOffset + 2) {
        const shift = 8 * (at - l.dataOffset);
        this.data = (this.data & ~(0xff << shift)) | (b << shift);
        touchedOther = true;
      } else if (l.maskOffset >= 0 && at >= l.maskOffset && at < l.maskOffset + 4) {
        const shift = 8 * (at - l.maskOffset);
        this.mask = ((this.mask & ~(0xff << shift)) | (b << shift)) & this.implementedMask;
        touchedOther = true;
      }
    }
    this.addressLo >>>= 0;
    this.addressHi >>>= 0;
    this.mask >>>= 0;
    if (!touchedOther) {
      // Only read-only bytes: nothing changes. Only address bytes: half of a message rewrite (Linux
      // writes Address, Upper Address, then Data while the vector is live), so routes keep the old one.
      if (touchedAddress) this.staged = true;
      else this.commitStaged();
      return;
    }
    const changed = this.staged || wasEnabled !== this.enable || wasLive !== this.liveVectors || wasMask !== this.mask || wasData !== this.data;
    const addressChanged = this.addressLo !== this.liveLo || this.addressHi !== this.liveHi;
    // Rewriting a register with its own value changes nothing (and must not re-report a refused message).
    if (!changed && !addressChanged) return;
    this.apply(wasLive);
    if (this.onControl !== undefined && (wasEnabled !== this.enable || wasLive !== this.liveVectors)) {
      try {
        this.onControl(this.enable, this.liveVectors);
      } catch (e) {
        this.routes.report(e, -1, 'onControl');
      }
    }
  }

  // ---------------------------------------------------------------- device side

  /**
   * The device raises vector `vector` (the user-space path; a VFIO device signals the route's
   * event instead). If the vector delivers, the interrupt goes through its route's event (or
   * `requestMsi` when it has no route); otherwise it is held as pending (shown in Pending Bits
   * with per-vector masking) and delivered once when the vector opens. Returns true if it was
   * sent now. A vector not granted (at or above `liveVectors`) or that does not exist cannot send:
   * ignored (false). Never throws.
   */
  signal(vector: number): boolean {
    if (!(Number.isInteger(vector) && vector >= 0 && vector < this.liveVectors)) return false;
    this.commitStaged();
    return this.routes.signal(vector, this.liveLo, this.liveHi, this.vectorData(this.liveData, vector));
  }

  // ---------------------------------------------------------------- routes

  /**
   * Attaches one route per requested vector (`undefined` for a vector that has none: it then
   * delivers through `requestMsi`). The routes' current state is unknown to the emulator, so
   * every route is driven to the guest's state, in one batch. Replaces (detaches) routes set
   * before. INVALID_ARGUMENT, before any change, for a wrong length, a route given twice,
   * something that is not a route, or an unknown option.
   */
  setRoutes(routes: readonly (MsixRoute | undefined)[], options: MsixRouteOptions = {}): void {
    checkOptions<MsixRouteOptions>('MsiEmulator.setRoutes', 'options', options, ['batch']);
    const batch = options.batch;
    this.routes.check('MsiEmulator.setRoutes', routes, batch);
    if (this.routes.attached) this.clearRoutes();
    this.commitStaged();
    this.routes.attach(routes, batch);
  }

  /**
   * Detaches the routes: each is masked and loses its message, and a signal latched in it moves
   * into the pending bit (nothing is lost). Vectors then deliver through `requestMsi`, if given.
   */
  clearRoutes(): void {
    if (!this.routes.attached) return;
    this.commitStaged();
    this.routes.detach();
    // What routes of vectors not granted had latched is nothing the function may send.
    for (let v = this.liveVectors; v < this.vectors; v++) this.routes.pending[v] = 0;
    for (let v = 0; v < this.vectors; v++) this.sync(v);
  }

  /**
   * Drives every route to the guest's state again, in one batch. The emulator does this itself on
   * every transition; call it after a reported failure (e.g. a failed commit) once the cause is gone.
   */
  resync(): void {
    this.commitStaged();
    this.routes.bulk(() => this.routes.resyncAll());
  }

  // ---------------------------------------------------------------- reset, save, restore

  /**
   * Function reset to the power-on state (QEMU `msi_reset`): Enable 0, MME 0, Address, Upper
   * Address, Data and Mask Bits 0, nothing pending; the layout bits stay. Routes stay attached:
   * masked, without a message, their latched signals dropped, in one batch. Nothing raised before
   * the reset is delivered after it.
   */
  reset(): void {
    const wasEnabled = this.enable;
    const wasLive = this.liveVectors;
    this.enable = false;
    this.mme = 0;
    this.addressLo = this.addressHi = this.data = this.mask = 0;
    this.liveLo = this.liveHi = this.liveData = 0;
    this.staged = false;
    this.routes.pending.fill(0);
    this.routes.dropLatches();
    if (this.onControl !== undefined && (wasEnabled || wasLive !== 1)) {
      try {
        this.onControl(false, 1);
      } catch (e) {
        this.routes.report(e, -1, 'onControl');
      }
    }
  }

  /**
   * The registers and the pending interrupts, as plain JSON-able data. Signals latched in routes
   * of vectors that do not deliver are folded into the pending bits first, so the snapshot holds
   * every pending interrupt. A staged address rewrite is applied first.
   */
  save(): MsiState {
    this.commitStaged();
    const pending: number[] = [];
    for (let v = 0; v < this.liveVectors; v++) if (this.routes.pendingBit(v)) pending.push(v);
    return {
      version: 1,
      vectors: this.vectors,
      address64: this.layout.address64,
      perVectorMasking: this.layout.perVectorMasking,
      enable: this.enable,
      multipleMessageEnable: this.mme,
      addressLo: this.addressLo,
      addressHi: this.addressHi,
      data: this.data,
      mask: this.mask >>> 0,
      pending,
    };
  }

  /**
   * Restores a {@link save} snapshot taken from an emulator with the same layout. Signals latched
   * in the routes are dropped (the snapshot's pending bits replace them) and every route is driven
   * to the restored state, in one batch. When the restored MSI Enable or vectors granted differ
   * from the emulator's before the call, `onControl` is then called with the restored values, as
   * for a guest write, so the owner's side (a VFIO MSI block) follows; when they are the same it is
   * not. The snapshot is copied first, each field read once from an own data property; the copy
   * is checked and applied. INVALID_ARGUMENT, before any change, for a snapshot that does not fit,
   * or with an accessor or a field inherited from its prototype.
   */
  restore(snapshot: MsiState): void {
    // Applied from the checked copy: `snapshot` itself is not read again.
    const state = readMsiState('MsiEmulator.restore', snapshot, this.layout);
    const wasEnabled = this.enable;
    const wasLive = this.liveVectors;
    this.enable = state.enable;
    this.mme = state.multipleMessageEnable;
    this.addressLo = this.liveLo = state.addressLo;
    this.addressHi = this.liveHi = state.addressHi;
    this.data = this.liveData = state.data;
    this.mask = state.mask;
    this.staged = false;
    const pending = this.routes.pending;
    pending.fill(0);
    for (const v of state.pending) pending[v] = 1;
    this.routes.dropLatches();
    if (this.onControl !== undefined && (wasEnabled !== this.enable || wasLive !== this.liveVectors)) {
      try {
        this.onControl(this.enable, this.liveVectors);
      } catch (e) {
        this.routes.report(e, -1, 'onControl');
      }
    }
  }

  // ---------------------------------------------------------------- wiring

  /** Ends a staged address rewrite: every route gets the message the registers show, in one batch. */
  private commitStaged(): void {
    if (this.staged) this.apply(this.liveVectors);
  }

  /**
   * Brings the routes to the registers after a write: vectors that became or stopped being
   * granted lose what they held (the function may not send them), then every vector is driven,
   * in one batch. `wasLive` is the granted count before the write.
   */
  private apply(wasLive: number): void {
    this.staged = false;
    const live = this.liveVectors;
    this.liveLo = this.addressLo;
    this.liveHi = this.addressHi;
    this.liveData = this.data;
    this.routes.bulk(() => {
      for (let v = 0; v < this.vectors; v++) {
        if (v < wasLive !== v < live) this.routes.dropLatch(v);
        this.sync(v);
      }
    });
  }

  /**
   * Drives vector `v`'s route from the message the routes carry. Masked vectors of an enabled
   * function get their message preloaded (inside the same batch), so a later unmask costs no
   * routing commit of its own.
   */
  private sync(v: number): void {
    const granted = this.enable && v < this.liveVectors;
    this.routes.sync(v, this.unmasked(v), granted, this.liveLo, this.liveHi, this.vectorData(this.liveData, v), true);
  }

  private unmasked(v: number): boolean {
    return this.enable && v < this.liveVectors && ((this.mask >>> v) & 1) === 0;
  }

  /** Data with its low MME bits replaced by the vector number (the function's rule for multiple messages; QEMU `msi_prepare_message`). */
  private vectorData(data: number, v: number): number {
    const n = this.liveVectors;
    return ((data & ~(n - 1)) | (v & (n - 1))) & 0xffff;
  }

  /** Pending Bits as the guest reads them: granted vectors only. */
  private pendingBits(): number {
    let bits = 0;
    for (let v = 0; v < this.liveVectors; v++) if (this.routes.pendingBit(v)) bits |= 1 << v;
    return bits >>> 0;
  }

  /** Byte `i` of the capability image (`pending`: the Pending Bits value, if read). */
  private byte(i: number, pending: number): number {
    const l = this.layout;
    if (i < 0 || i >= l.size) return 0;
    let dword: number;
    let at = i;
    if (i < 4) {
      const control =
        (this.enable ? MSI_CONTROL_ENABLE : 0) |
        (l.multipleMessageCapable << 1) |
        (this.mme << 4) |
        (l.address64 ? MSI_CONTROL_64BIT : 0) |
        (l.perVectorMasking ? MSI_CONTROL_PER_VECTOR_MASKING : 0);
      dword = MSI_CAPABILITY_ID | (this.next << 8) | (control << 16);
    } else if (i < MSI_ADDRESS_LO + 4) {
      dword = this.addressLo;
      at = i - MSI_ADDRESS_LO;
    } else if (l.address64 && i < MSI_ADDRESS_HI + 4) {
      dword = this.addressHi;
      at = i - MSI_ADDRESS_HI;
    } else if (i < l.dataOffset + 4) {
      // Data (16 bits), then 2 reserved bytes (Extended Message Data is not implemented).
      dword = this.data;
      at = i - l.dataOffset;
    } else if (i < l.maskOffset + 4) {
      dword = this.mask;
      at = i - l.maskOffset;
    } else {
      dword = pending;
      at = i - l.pendingOffset;
    }
    return (dword >>> (8 * at)) & 0xff;
  }
}

