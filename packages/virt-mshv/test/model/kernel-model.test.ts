/**
 * The kernel model checked against the reference (the UAPI header and the driver's semantics),
 * with argument bytes written out by hand here, not by the package's encoders, so the model
 * cannot drift into agreeing with the backend.
 */
import { EAGAIN, EBADF, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOTTY } from '@tsvmm/linux-sys';
import { MshvKernelModel } from '../../src/testing';
import { CREATE_PARTITION, CREATE_VP, GET_VP_STATE, INITIALIZE_PARTITION, IRQFD, ROOT_HVCALL, SET_MSI_ROUTING, SET_VP_STATE, createPartitionArg, irqfdArg, le, table, vpArg } from '../support/mshv-raw';

const ONE = le([0, 'u64', 1])(8);

interface World {
  readonly m: MshvKernelModel;
  readonly pt: number;
  readonly vps: number[];
}

/** A partition with `n` VPs whose APICs are software-enabled, built through raw ioctls. */
function world(n = 2, m = new MshvKernelModel()): World {
  const dev = m.open('/dev/mshv', 2);
  const pt = m.ioctl(dev, CREATE_PARTITION, createPartitionArg(1n));
  expect(m.ioctl(pt, INITIALIZE_PARTITION, 0)).toBe(0);
  const vps: number[] = [];
  for (let i = 0; i < n; i++) {
    vps.push(m.ioctl(pt, CREATE_VP, vpArg(i)));
    m.partitionOf(pt)!.apic(i)!.softwareEnabled = true;
  }
  m.close(dev);
  return { m, pt, vps };
}
const irr = (w: World, vp: number): number[] => w.m.partitionOf(w.pt)!.apic(vp)!.state().irr as number[];

describe('open and MSHV_CREATE_PARTITION', () => {
  it('open: ENOENT when the device is missing, the configured errno, ENOENT for other paths', () => {
    expect(new MshvKernelModel({ device: 'missing' }).open('/dev/mshv', 2)).toBe(-ENOENT);
    expect(new MshvKernelModel({ device: 13 }).open('/dev/mshv', 2)).toBe(-13);
    expect(new MshvKernelModel().open('/dev/kvm', 2)).toBe(-ENOENT);
  });

  it('EINVAL for unknown pt_flags bits (bit 3 and up) and for isolation; EFAULT for a short argument; ENOTTY for other ioctls', () => {
    const m = new MshvKernelModel();
    const dev = m.open('/dev/mshv', 2);
    expect(m.ioctl(dev, CREATE_PARTITION, createPartitionArg(1n | (1n << 3n)))).toBe(-EINVAL);
    expect(m.ioctl(dev, CREATE_PARTITION, createPartitionArg(1n, 1n))).toBe(-EINVAL);
    expect(m.ioctl(dev, CREATE_PARTITION, new Uint8Array(8))).toBe(-EFAULT);
    expect(m.ioctl(dev, CREATE_VP, vpArg(0))).toBe(-ENOTTY);
    const pt = m.ioctl(dev, CREATE_PARTITION, createPartitionArg(7n));
    expect(pt).toBeGreaterThan(dev);
    expect(m.partitionOf(pt)!.flags).toBe(7n);
  });

  it('INITIALIZE is idempotent; use before it is a hazard', () => {
    const m = new MshvKernelModel();
    const pt = m.ioctl(m.open('/dev/mshv', 2), CREATE_PARTITION, createPartitionArg(1n));
    expect(m.ioctl(pt, CREATE_VP, vpArg(0))).toBeGreaterThan(0);
    expect(m.hazards.map((h) => h.kind)).toEqual(['not-initialized']);
    expect(m.ioctl(pt, INITIALIZE_PARTITION, 0)).toBe(0);
    expect(m.ioctl(pt, INITIALIZE_PARTITION, 0)).toBe(0);
  });
});

describe('MSHV_CREATE_VP', () => {
  it('vp_index >= 256 is EINVAL, a taken index EEXIST; the APIC starts software-disabled with APIC ID = VP index', () => {
    const { m, pt } = world(0);
    expect(m.ioctl(pt, CREATE_VP, vpArg(256))).toBe(-EINVAL);
    expect(m.ioctl(pt, CREATE_VP, vpArg(255))).toBeGreaterThan(0);
    expect(m.ioctl(pt, CREATE_VP, vpArg(255))).toBe(-EEXIST);
    expect(m.partitionOf(pt)!.apic(255)!.state()).toEqual({ apicId: 255, irr: [], isr: [], softwareEnabled: false });
    expect(m.ioctl(pt, CREATE_VP, new Uint8Array(2))).toBe(-EFAULT);
  });
});

describe('MSHV_SET_MSI_ROUTING', () => {
  it('each EINVAL of the reference, EFAULT for a short table; on any error the old table stays', () => {
    const w = world();
    const { m, pt } = w;
    expect(m.ioctl(pt, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x30]]))).toBe(0);
    const before = m.partitionOf(pt)!.routes;
    const bad: Array<[string, Uint8Array, number]> = [
      ['nr > 4096', table([], { nr: 4097 }), -EINVAL],
      ['rsvd != 0', table([[2, 0xfee00000, 0, 0x31]], { rsvd: 1 }), -EINVAL],
      ['gsi >= 4096', table([[4096, 0xfee00000, 0, 0x31]]), -EINVAL],
      ['duplicate gsi', table([[2, 0xfee00000, 0, 0x31], [2, 0xfee00000, 0, 0x32]]), -EINVAL],
      ['duplicate gsi 0 (fixed kernels)', table([[0, 0xfee00000, 0, 0x31], [0, 0xfee00000, 0, 0x32]]), -EINVAL],
      ['address_hi != 0', table([[2, 0xfee00000, 1, 0x31]]), -EINVAL],
      ['short table', table([[2, 0xfee00000, 0, 0x31], [3, 0xfee00000, 0, 0x32]], { cut: 4 }), -EFAULT],
      ['header only, nr 1', table([], { nr: 1 }), -EFAULT],
      ['shorter than the header', new Uint8Array(4), -EFAULT],
    ];
    for (const [what, bytes, errno] of bad) {
      expect([what, m.ioctl(pt, SET_MSI_ROUTING, bytes)]).toEqual([what, errno]);
      expect(m.partitionOf(pt)!.routes).toBe(before);
    }
    expect(m.ioctl(pt, SET_MSI_ROUTING, table([]))).toBe(0);
    expect(m.partitionOf(pt)!.routes.size).toBe(0);
    expect(m.hazards).toEqual([]);
  });

  it('older kernels accept a duplicate GSI 0 (the later entry wins) when asked to model them', () => {
    const { m, pt } = world(2, new MshvKernelModel({ duplicateGsi0Accepted: true }));
    expect(m.ioctl(pt, SET_MSI_ROUTING, table([[0, 0xfee00000, 0, 0x31], [0, 0xfee00000, 0, 0x32]]))).toBe(0);
    expect(m.partitionOf(pt)!.routes.get(0)!.data).toBe(0x32);
  });

  it('4096 entries (GSIs 0..4095) are accepted', () => {
    const { m, pt } = world();
    const entries = Array.from({ length: 4096 }, (_, g) => [g, 0xfee00000, 0, 0x40] as [number, number, number, number]);
    expect(m.ioctl(pt, SET_MSI_ROUTING, table(entries))).toBe(0);
  });

  it('a physical route to an APIC ID without a VP is flagged; a non-0xFEE address is accepted and decoded', () => {
    const { m, pt } = world(2);
    expect(m.ioctl(pt, SET_MSI_ROUTING, table([[1, 0xfee05000, 0, 0x40]]))).toBe(0);
    expect(m.hazards.map((h) => h.kind)).toEqual(['destination-without-vp']);
    const w = world(2);
    expect(w.m.ioctl(w.pt, SET_MSI_ROUTING, table([[1, 0x12301000, 0, 0x40]]))).toBe(0);
    expect(w.m.hazards).toEqual([]);
  });
});

describe('MSHV_IRQFD', () => {
  function routed(): World & { efd: number } {
    const w = world();
    expect(w.m.ioctl(w.pt, SET_MSI_ROUTING, table([[1, 0xfee01000, 0, 0x41]]))).toBe(0);
    return { ...w, efd: w.m.eventfd(0, 0) };
  }

  it('unknown flags EINVAL; bad fd EBADF and a non-eventfd EINVAL, on assign and deassign alike', () => {
    const { m, pt, efd, vps } = routed();
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 4))).toBe(-EINVAL);
    expect(m.ioctl(pt, IRQFD, irqfdArg(999, 1))).toBe(-EBADF);
    expect(m.ioctl(pt, IRQFD, irqfdArg(999, 1, 1))).toBe(-EBADF);
    expect(m.ioctl(pt, IRQFD, irqfdArg(vps[0]!, 1))).toBe(-EINVAL);
    expect(m.ioctl(pt, IRQFD, irqfdArg(vps[0]!, 1, 1))).toBe(-EINVAL);
    expect(m.ioctl(pt, IRQFD, new Uint8Array(8))).toBe(-EFAULT);
  });

  it('the same eventfd twice in one partition is EBUSY whatever the gsi; in another partition it is not prevented', () => {
    const { m, pt, efd } = routed();
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1))).toBe(0);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1))).toBe(-EBUSY);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 7))).toBe(-EBUSY);
    const other = m.ioctl(m.open('/dev/mshv', 2), CREATE_PARTITION, createPartitionArg(1n));
    m.ioctl(other, INITIALIZE_PARTITION, 0);
    m.ioctl(other, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x41]]));
    expect(m.ioctl(other, IRQFD, irqfdArg(efd, 1))).toBe(0);
  });

  it('deassign matches (eventfd, gsi) and returns 0 even when nothing matched', () => {
    const { m, pt, efd } = routed();
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 1))).toBe(0);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1))).toBe(0);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 2, 1))).toBe(0); // other gsi: nothing matched
    expect(m.partitionOf(pt)!.irqfds).toHaveLength(1);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 1))).toBe(0);
    expect(m.partitionOf(pt)!.irqfds).toHaveLength(0);
  });

  it('a signal drains the counter and injects the routed MSI, each time', () => {
    const w = routed();
    const { m, pt, efd } = w;
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1));
    expect(m.write(efd, ONE, 8)).toBe(8);
    expect(m.eventfdCounter(efd)).toBe(0n);
    expect(m.read(efd, new Uint8Array(8), 8)).toBe(-EAGAIN);
    expect(irr(w, 1)).toEqual([0x41]);
    m.write(efd, ONE, 8);
    expect(m.partitionOf(pt)!.injections).toBe(2);
  });

  it('a count pending at assign is injected, but stays readable until the next signal (one more injection, drained)', () => {
    const w = routed();
    const { m, pt, efd } = w;
    m.write(efd, ONE, 8);
    m.write(efd, ONE, 8);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1))).toBe(0);
    expect(irr(w, 1)).toEqual([0x41]);
    expect(m.partitionOf(pt)!.injections).toBe(1);
    expect(m.eventfdCounter(efd)).toBe(2n); // stale
    m.write(efd, ONE, 8);
    expect(m.eventfdCounter(efd)).toBe(0n);
    expect(m.partitionOf(pt)!.injections).toBe(2);
  });

  it('deassign drains a stale count without injecting', () => {
    const w = routed();
    const { m, pt, efd } = w;
    m.write(efd, ONE, 8);
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1));
    expect(m.eventfdCounter(efd)).toBe(1n);
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 1));
    expect(m.eventfdCounter(efd)).toBe(0n);
    expect(m.partitionOf(pt)!.injections).toBe(1);
  });

  it('a deassigned eventfd latches signals; closing an eventfd tears its irqfd down; closing the partition fd tears all down', () => {
    const w = routed();
    const { m, pt, efd } = w;
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1));
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 1));
    m.write(efd, ONE, 8);
    expect(m.eventfdCounter(efd)).toBe(1n);
    expect(m.close(efd)).toBe(0);
    expect(m.close(efd)).toBe(-EBADF);
    const e2 = m.eventfd(0, 0);
    m.ioctl(pt, IRQFD, irqfdArg(e2, 1));
    expect(m.close(e2)).toBe(0);
    expect(m.partitionOf(pt)!.irqfds).toHaveLength(0);
    const e3 = m.eventfd(0, 0);
    m.ioctl(pt, IRQFD, irqfdArg(e3, 1));
    const p = m.partitionOf(pt)!;
    m.close(pt);
    expect(p.irqfds).toHaveLength(0);
  });

  it('hazards: a signal on an unrouted GSI below the highest route injects vector 0 on APIC 0; above it, it is dropped; GSI 0 is flagged', () => {
    const w = world();
    const { m, pt } = w;
    m.ioctl(pt, SET_MSI_ROUTING, table([[5, 0xfee01000, 0, 0x41]]));
    const below = m.eventfd(0, 0);
    const above = m.eventfd(0, 0);
    const zero = m.eventfd(0, 0);
    m.ioctl(pt, IRQFD, irqfdArg(below, 3));
    m.ioctl(pt, IRQFD, irqfdArg(above, 9));
    m.ioctl(pt, IRQFD, irqfdArg(zero, 0));
    m.write(below, ONE, 8);
    expect(irr(w, 0)).toEqual([0]);
    m.write(above, ONE, 8);
    m.write(zero, ONE, 8);
    expect(m.hazards.map((h) => h.kind)).toEqual([
      'irqfd-without-route',
      'irqfd-without-route',
      'irqfd-on-gsi-0',
      'irqfd-without-route',
      'unrouted-signal-injects-vector-0',
      'unrouted-signal-dropped',
      'unrouted-signal-injects-vector-0',
    ]);
  });

  it('hazard: with no routing table at all, a signal on GSI 0 injects vector 0 on APIC 0 (a GSI past the table reads as itself, and only GSI 0 is not dropped)', () => {
    const w = world();
    const { m, pt } = w;
    const zero = m.eventfd(0, 0);
    const other = m.eventfd(0, 0);
    m.ioctl(pt, IRQFD, irqfdArg(zero, 0));
    m.ioctl(pt, IRQFD, irqfdArg(other, 3));
    m.write(other, ONE, 8);
    expect(m.partitionOf(pt)!.injections).toBe(0);
    m.write(zero, ONE, 8);
    expect(irr(w, 0)).toEqual([0]);
    expect(m.partitionOf(pt)!.injections).toBe(1);
    expect(m.hazards.map((h) => h.kind)).toEqual(['irqfd-on-gsi-0', 'irqfd-without-route', 'irqfd-without-route', 'unrouted-signal-dropped', 'unrouted-signal-injects-vector-0']);
  });

  it('hazard: removing a route while its irqfd is assigned', () => {
    const { m, pt, efd } = routed();
    m.ioctl(pt, IRQFD, irqfdArg(efd, 1));
    m.ioctl(pt, SET_MSI_ROUTING, table([]));
    expect(m.hazards.map((h) => h.kind)).toEqual(['route-removed-under-irqfd']);
  });

  it('RESAMPLE: EINVAL on kernels before the fix; after it, only on a level-triggered route', () => {
    const { m, pt, efd } = routed();
    const rfd = m.eventfd(0, 0);
    expect(m.ioctl(pt, IRQFD, irqfdArg(efd, 1, 2, rfd))).toBe(-EINVAL);
    const w = world(2, new MshvKernelModel({ resampleAlwaysEinval: false }));
    w.m.ioctl(w.pt, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x41], [2, 0xfee00000, 0, 0x8041]]));
    const e = w.m.eventfd(0, 0);
    const r = w.m.eventfd(0, 0);
    expect(w.m.ioctl(w.pt, IRQFD, irqfdArg(e, 1, 2, r))).toBe(-EINVAL); // edge route
    expect(w.m.ioctl(w.pt, IRQFD, irqfdArg(e, 2, 2, r))).toBe(0);
  });

  it('RESAMPLE: the resamplefd is looked up first on every kernel; fixed kernels check EBUSY before the trigger mode, older ones after', () => {
    for (const resampleAlwaysEinval of [true, false]) {
      const w = world(2, new MshvKernelModel({ resampleAlwaysEinval }));
      const { m, pt, vps } = w;
      m.ioctl(pt, SET_MSI_ROUTING, table([[1, 0xfee00000, 0, 0x41], [2, 0xfee00000, 0, 0x8041]]));
      const e = m.eventfd(0, 0);
      const r = m.eventfd(0, 0);
      expect([resampleAlwaysEinval, m.ioctl(pt, IRQFD, irqfdArg(e, 2, 2, 999))]).toEqual([resampleAlwaysEinval, -EBADF]);
      expect([resampleAlwaysEinval, m.ioctl(pt, IRQFD, irqfdArg(e, 2, 2, vps[0]))]).toEqual([resampleAlwaysEinval, -EINVAL]);
      expect(m.ioctl(pt, IRQFD, irqfdArg(e, 1))).toBe(0);
      expect([resampleAlwaysEinval, m.ioctl(pt, IRQFD, irqfdArg(e, 1, 2, r))]).toEqual([resampleAlwaysEinval, resampleAlwaysEinval ? -EINVAL : -EBUSY]);
    }
  });
});

describe('eventfds', () => {
  it('read < 8 bytes EINVAL, empty EAGAIN, write of all-ones EINVAL, overflow EAGAIN', () => {
    const m = new MshvKernelModel();
    const e = m.eventfd(0, 0);
    expect(m.read(e, new Uint8Array(4), 4)).toBe(-EINVAL);
    expect(m.read(e, new Uint8Array(8), 8)).toBe(-EAGAIN);
    expect(m.write(e, le([0, 'u64', 0xffff_ffff_ffff_ffffn])(8), 8)).toBe(-EINVAL);
    expect(m.write(e, le([0, 'u64', 0xffff_ffff_ffff_fffen])(8), 8)).toBe(8);
    expect(m.write(e, ONE, 8)).toBe(-EAGAIN);
    const b = new Uint8Array(8);
    expect(m.read(e, b, 8)).toBe(8);
    expect(new DataView(b.buffer).getBigUint64(0, true)).toBe(0xffff_ffff_ffff_fffen);
    expect(m.read(999, b, 8)).toBe(-EBADF);
  });

  it('poll: POLLIN on a readable eventfd only, POLLNVAL on a closed number, the count of ready entries returned', () => {
    const m = new MshvKernelModel();
    const full = m.eventfd(1, 0);
    const empty = m.eventfd(0, 0);
    const closed = m.eventfd(0, 0);
    m.close(closed);
    const fds = new Uint8Array(3 * 8);
    const v = new DataView(fds.buffer);
    [full, empty, closed].forEach((fd, i) => {
      v.setInt32(i * 8, fd, true);
      v.setInt16(i * 8 + 4, 1, true); // events = POLLIN
      v.setInt16(i * 8 + 6, -1, true); // revents is written, whatever it held
    });
    expect(m.poll(fds, 3, 0)).toBe(2);
    expect([0, 1, 2].map((i) => v.getInt16(i * 8 + 6, true))).toEqual([1, 0, 0x20]);
    expect(m.eventfdCounter(full)).toBe(1n); // poll never consumes
  });
});

describe('MSHV_ROOT_HVCALL (HvCallAssertVirtualInterrupt)', () => {
  function call(w: World, input: Uint8Array | undefined, fields: { code?: number; inSz?: number; status?: number; rsvd?: number; reps?: number; outSz?: number } = {}): [number, Uint8Array] {
    let ptr = 0n;
    if (input) {
      const buf = w.m.allocate(input.byteLength, 8);
      buf.bytes.set(input);
      ptr = buf.address;
    }
    const arg = le(
      [0, 'u16', fields.code ?? 0x94],
      [2, 'u16', fields.reps ?? 0],
      [4, 'u16', fields.inSz ?? 32],
      [6, 'u16', fields.outSz ?? 0],
      [8, 'u16', fields.status ?? 0],
      [12, 'u16', fields.rsvd ?? 0],
      [16, 'u64', ptr],
    )(32);
    return [w.m.ioctl(w.pt, ROOT_HVCALL, arg), arg];
  }
  const input = (control: bigint, dest: number, vector: number, vtl = 0, rsvd = 0): Uint8Array =>
    le([8, 'u64', control], [16, 'u64', dest], [24, 'u32', vector], [28, 'u8', vtl], [29, 'u8', rsvd])(32);

  it('delivers: fixed to APIC 1, NMI counted, logical mode', () => {
    const w = world();
    expect(call(w, input(0n, 1, 0x41))[0]).toBe(0);
    expect(irr(w, 1)).toEqual([0x41]);
    expect(call(w, input(4n, 0, 2))[0]).toBe(0);
    expect(w.m.partitionOf(w.pt)!.apic(0)!.nmi).toBe(1);
    expect(call(w, input(1n << 33n, 0b11, 0x50))[0]).toBe(0);
    expect(irr(w, 0)).toEqual([0x50]);
    expect(w.m.hazards).toEqual([]);
  });

  it('EINVAL: nonzero input status, null in_ptr, in_sz outside 8..4096, nonzero reserved, a code off the allow-list', () => {
    const w = world();
    expect(call(w, input(0n, 1, 0x41), { status: 1 })[0]).toBe(-EINVAL);
    expect(call(w, undefined)[0]).toBe(-EINVAL);
    expect(call(w, input(0n, 1, 0x41), { inSz: 4 })[0]).toBe(-EINVAL);
    expect(call(w, input(0n, 1, 0x41), { inSz: 4097 })[0]).toBe(-EINVAL);
    expect(call(w, input(0n, 1, 0x41), { rsvd: 1 })[0]).toBe(-EINVAL);
    expect(call(w, input(0n, 1, 0x41), { code: 0x4e })[0]).toBe(-EINVAL);
    expect(irr(w, 1)).toEqual([]);
  });

  it('the input page read at hvhdk.h offsets: a u32 vector above 0xFF (bits 8 and 16), a nonzero rsvd_z0 (@29) or rsvd_z1 (@30) is refused, nothing delivered', () => {
    const w = world();
    for (const bad of [
      le([8, 'u64', 0n], [16, 'u64', 1], [24, 'u32', 0x141])(32),
      le([8, 'u64', 0n], [16, 'u64', 1], [24, 'u32', 0x1_0041])(32),
      le([8, 'u64', 0n], [16, 'u64', 1], [24, 'u32', 0x41], [29, 'u8', 1])(32),
      le([8, 'u64', 0n], [16, 'u64', 1], [24, 'u32', 0x41], [30, 'u16', 0x100])(32),
    ]) {
      expect(call(w, bad)[0]).toBe(-EINVAL);
    }
    expect(irr(w, 1)).toEqual([]);
    // The same page with those bytes clear is delivered: the refusals were theirs.
    expect(call(w, le([8, 'u64', 0n], [16, 'u64', 1], [24, 'u32', 0x41])(32))[0]).toBe(0);
    expect(irr(w, 1)).toEqual([0x41]);
  });

  it('an input pointer the process does not own is EFAULT', () => {
    const w = world();
    const arg = le([0, 'u16', 0x94], [4, 'u16', 32], [16, 'u64', 0x1000n])(32);
    expect(w.m.ioctl(w.pt, ROOT_HVCALL, arg)).toBe(-EFAULT);
  });

  it('a hypervisor failure comes back as an errno with the status written into the argument', () => {
    const w = world();
    const [r, arg] = call(w, input(0n, 1, 0x41, 1));
    expect(r).toBe(-EINVAL);
    expect(new DataView(arg.buffer).getUint16(8, true)).toBe(5); // HV_STATUS_INVALID_PARAMETER
    w.m.failNextHypercall(EAGAIN, 0x0b);
    const [again, againArg] = call(w, input(0n, 1, 0x41));
    expect([again, new DataView(againArg.buffer).getUint16(8, true)]).toEqual([-EAGAIN, 0x0b]); // HV_STATUS_INSUFFICIENT_MEMORY
    expect(call(w, input(0n, 1, 0x41))[0]).toBe(0);
  });

  it('an unmapped out_ptr: EFAULT whatever the hypervisor answered on older kernels, only after a success on kernels that retry in the kernel', () => {
    for (const hypercallRetriedInKernel of [false, true]) {
      const w = world(2, new MshvKernelModel({ hypercallRetriedInKernel }));
      const buf = w.m.allocate(32, 8);
      buf.bytes.set(input(0n, 1, 0x41));
      // This model's hypervisor refuses HvCallAssertVirtualInterrupt with an output buffer (status 5).
      const arg = le([0, 'u16', 0x94], [4, 'u16', 32], [6, 'u16', 8], [16, 'u64', buf.address], [24, 'u64', 0x1000n])(32);
      const r = w.m.ioctl(w.pt, ROOT_HVCALL, arg);
      expect([hypercallRetriedInKernel, r, new DataView(arg.buffer).getUint16(8, true)]).toEqual([hypercallRetriedInKernel, hypercallRetriedInKernel ? -EINVAL : -EFAULT, 5]);
    }
  });

  it('a physical destination without a VP is flagged', () => {
    const w = world();
    call(w, input(0n, 7, 0x41));
    expect(w.m.hazards.map((h) => h.kind)).toEqual(['destination-without-vp']);
  });
});

describe('MSHV_GET_VP_STATE / MSHV_SET_VP_STATE (LAPIC)', () => {
  const stateArg = (type: number, size: number, ptr: bigint, rsvd = 0): Uint8Array => le([0, 'u8', type], [1, 'u8', rsvd], [4, 'u32', size], [8, 'u64', ptr])(16);

  it('EINVAL unless buf_sz is nonzero and buf_sz and buf_ptr are 4 KiB aligned; EFAULT unless every page of buf_sz is mapped (a null buf_ptr too)', () => {
    const w = world();
    const page = w.m.allocate(8192, 4096);
    const one = w.m.allocate(4096, 4096);
    const vp = w.vps[0]!;
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 0, page.address))).toBe(-EINVAL);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 2048, page.address))).toBe(-EINVAL);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4100, page.address))).toBe(-EINVAL);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4096, page.address + 16n))).toBe(-EINVAL);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(5, 4096, page.address))).toBe(-EINVAL); // MSHV_VP_STATE_COUNT
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4096, page.address, 1))).toBe(-EINVAL);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4096, 0n))).toBe(-EFAULT);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4096, 0x1000n))).toBe(-EFAULT);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 8192, one.address))).toBe(-EFAULT); // the second page is not mapped
    expect(w.m.ioctl(vp, SET_VP_STATE, stateArg(0, 8192, one.address))).toBe(-EFAULT);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 8192, page.address))).toBe(0);
    expect(w.m.ioctl(w.pt, GET_VP_STATE, stateArg(0, 4096, page.address))).toBe(-ENOTTY);
  });

  it("reads the hypervisor's 176-byte format (apic_id @0, spurious @16, irr @84 at a 4-byte stride) and writes 4096 into buf_sz", () => {
    const w = world();
    const apic = w.m.partitionOf(w.pt)!.apic(1)!;
    apic.acceptVector(0x41, false);
    apic.acceptVector(0xfe, false);
    const big = w.m.allocate(8192, 4096);
    const arg = stateArg(0, 8192, big.address);
    expect(w.m.ioctl(w.vps[1]!, GET_VP_STATE, arg)).toBe(0);
    expect(new DataView(arg.buffer).getUint32(4, true)).toBe(4096);
    const v = new DataView(big.bytes.buffer);
    expect(v.getUint32(0, true)).toBe(1);
    expect(v.getUint32(84 + 2 * 4, true)).toBe(1 << 1);
    expect(v.getUint32(84 + 7 * 4, true)).toBe(1 << 30);
  });

  it('SET writes spurious (software enable) and IRR back', () => {
    const w = world();
    const page = w.m.allocate(4096, 4096);
    const vp = w.vps[0]!;
    w.m.partitionOf(w.pt)!.apic(0)!.acceptVector(0x41, false);
    expect(w.m.ioctl(vp, GET_VP_STATE, stateArg(0, 4096, page.address))).toBe(0);
    const v = new DataView(page.bytes.buffer);
    v.setUint32(16, 0xff, true); // disabled
    v.setUint32(84 + 8, 0, true);
    expect(w.m.ioctl(vp, SET_VP_STATE, stateArg(0, 4096, page.address))).toBe(0);
    expect(w.m.partitionOf(w.pt)!.apic(0)!.state()).toMatchObject({ irr: [], softwareEnabled: false });
    v.setUint32(16, 0x1ff, true);
    expect(w.m.ioctl(vp, SET_VP_STATE, stateArg(0, 4096, page.address))).toBe(0);
    expect(w.m.partitionOf(w.pt)!.apic(0)!.softwareEnabled).toBe(true);
  });
});

describe('fds', () => {
  it('VP fds keep the partition; every fd closes once; fd numbers are reused lowest first', () => {
    const m = new MshvKernelModel();
    const dev = m.open('/dev/mshv', 2);
    const pt = m.ioctl(dev, CREATE_PARTITION, createPartitionArg(1n));
    m.ioctl(pt, INITIALIZE_PARTITION, 0);
    const vp = m.ioctl(pt, CREATE_VP, vpArg(0));
    expect(m.openFds()).toBe(3);
    const p = m.partitionOf(pt)!;
    expect(m.close(pt)).toBe(0);
    expect(p.refs).toBe(1);
    expect(m.close(vp)).toBe(0);
    expect(p.refs).toBe(0);
    expect(m.close(dev)).toBe(0);
    expect(m.close(dev)).toBe(-EBADF);
    expect(m.openFds()).toBe(0);
    expect(m.eventfd(0, 0)).toBe(dev);
  });
});
