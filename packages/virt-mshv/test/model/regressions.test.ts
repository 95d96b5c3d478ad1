/**
 * Two double faults that once broke the engine's ordering rules (the kernel refuses an operation,
 * then refuses its rollback), the scenarios the shared engine's KVM suite pins, here with mshv's
 * ioctls and GSIs. The route must keep its GSI routed while its irqfd is assigned, report what the
 * kernel does, lose no signal, and converge at the next success; the model must see no hazard.
 */
import { EBUSY, EINVAL, ENOMEM } from '@tsvmm/linux-sys';
import { Rig, batch, clearMsi, setMsi, unmask } from './harness';

const X = { vcpu: 0, vector: 0x41 };
const Y = { vcpu: 1, vector: 0x52 };

describe('double faults (mshv model)', () => {
  it("B's assign fails (EBUSY), then the rollback's deassign of A fails (EINVAL): A's route stays while A's irqfd is assigned", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    rig.sys.fail('MSHV_IRQFD', EBUSY, { nth: 2 }).fail('MSHV_IRQFD', EINVAL, { nth: 2 });
    batch(rig, () => {
      setMsi(a, X);
      unmask(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['MSHV_IRQFD', -EBUSY],
      ['MSHV_IRQFD', -EINVAL],
    ]);
    const gsi = rig.irqfdGsi(a.route.event.ownFd());
    expect(gsi).toBe(1); // GSIs start at 1 on mshv
    expect(rig.msiRoutes().has(1)).toBe(true);
    expect(a.route.fault).toBeDefined();
    expect({ msi: a.route.msi, masked: a.route.masked }).toEqual({ msi: rig.msiRoutes().get(1), masked: false });
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.msi).toBeUndefined();
  });

  it("A armed; B's assign fails (EBUSY), then the rollback's commit fails (ENOMEM): A is not assigned on an unrouted GSI, latches, and converges", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    setMsi(a, X);
    unmask(a);
    rig.checkAll('A armed');
    rig.sys.fail('MSHV_IRQFD', EBUSY, { nth: 2 }).fail('MSHV_SET_MSI_ROUTING', ENOMEM, { nth: 2 });
    batch(rig, () => {
      clearMsi(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['MSHV_IRQFD', -EBUSY],
      ['MSHV_SET_MSI_ROUTING', -ENOMEM],
    ]);
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.fault).toBeDefined();
    expect(a.route.masked).toBe(true);
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBe(a.route.gsi);
    expect(a.route.masked).toBe(false);
  });
});
