import { DEFAULT_MSI_POLICY, type MsiPolicy, encodeMsi } from '@tsvmm/virt';
import { MsixEmulator, type MsixEmulatorOptions, type MsixPlacement } from '../../src';
import { FakeRouteSet } from './fake-routes';

/** Where {@link rig} puts the vector table unless told otherwise. */
export const TABLE: MsixPlacement = Object.freeze({ bir: 0, offset: 0x2000 });
/** Where {@link rig} puts the PBA unless told otherwise: the table's BAR, far past the table. */
export const PBA: MsixPlacement = Object.freeze({ bir: 0, offset: 0x10000 });

export interface Rig {
  readonly emu: MsixEmulator;
  readonly fake: FakeRouteSet;
  readonly errors: { error: Error; vector: number; operation: string }[];
  /** Byte offset of vector `v`'s field at `field` (0, 4, 8, 12) in the table BAR. */
  at(v: number, field?: number): number;
  /** Programs vector `v` (masked, as a driver does) with a fixed-mode message to APIC `dest`, vector `vec`. */
  program(v: number, dest: number, vec: number): { lo: number; hi: number; data: number };
  unmask(v: number): void;
  mask(v: number): void;
  /** Message Control through a 2-byte config write at +2. */
  control(enable: boolean, functionMask: boolean): void;
  readPba(v: number): boolean;
}

export interface RigOptions extends Partial<MsixEmulatorOptions> {
  readonly routes?: boolean | ((v: number) => boolean);
  readonly batch?: boolean;
  readonly inject?: boolean;
  readonly routePolicy?: MsiPolicy;
}

export function rig(o: RigOptions = {}): Rig {
  const vectors = o.vectors ?? 8;
  const errors: Rig['errors'] = [];
  const withRoute = typeof o.routes === 'function' ? o.routes : () => o.routes !== false;
  const fake = new FakeRouteSet(vectors, o.routePolicy ?? o.policy ?? DEFAULT_MSI_POLICY, withRoute);
  const table = o.table ?? TABLE;
  const pba = o.pba ?? PBA;
  const emu = new MsixEmulator({
    vectors,
    table,
    pba,
    ...(o.inject === false ? {} : { requestMsi: fake.inject }),
    ...(o.policy ? { policy: o.policy } : {}),
    onError: (error, vector, operation) => errors.push({ error, vector, operation }),
  });
  if (o.routes !== false) emu.setRoutes(fake.forEmulator, o.batch === false ? {} : { batch: fake.batch });
  const at = (v: number, field = 0) => table.offset + v * 16 + field;
  return {
    emu,
    fake,
    errors,
    at,
    program(v, dest, vec) {
      const m = encodeMsi({ destinationId: dest, vector: vec });
      emu.write32(table.bir, at(v, 0), m.addressLo);
      emu.write32(table.bir, at(v, 4), m.addressHi);
      emu.write32(table.bir, at(v, 8), m.data);
      return { lo: m.addressLo, hi: m.addressHi, data: m.data };
    },
    unmask(v) {
      emu.write32(table.bir, at(v, 12), 0);
    },
    mask(v) {
      emu.write32(table.bir, at(v, 12), 1);
    },
    control(enable, functionMask) {
      emu.configWrite(2, 2, (vectors - 1) | (enable ? 0x8000 : 0) | (functionMask ? 0x4000 : 0));
    },
    readPba(v) {
      return ((emu.read32(pba.bir, pba.offset + (v >>> 5) * 4) >>> (v & 31)) & 1) === 1;
    },
  };
}

export function msg(dest: number, vec: number): { lo: number; hi: number; data: number } {
  const m = encodeMsi({ destinationId: dest, vector: vec });
  return { lo: m.addressLo, hi: m.addressHi, data: m.data };
}
