/**
 * Two double faults that once broke the ordering rules, on the KVM model: the kernel refuses an
 * operation, then refuses its rollback. The route must keep its GSI routed while its irqfd is
 * assigned, report what the kernel does, lose no signal, and converge at the next success.
 */
import { EBUSY, EINVAL, ENOMEM } from '@tsvmm/linux-sys';
import { Rig, batch, setMsi, unmask, clearMsi } from './harness';

const X = { vcpu: 0, vector: 0x41 };
const Y = { vcpu: 1, vector: 0x52 };

describe('double faults that once broke the ordering rules (KVM model)', () => {
  it("B's assign fails (EBUSY), then the rollback's deassign of A fails (EINVAL): A's route stays while A's irqfd is assigned", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    // The batch: commit, assign A, assign B (fails), rollback: deassign A (fails).
    // Each fault counts the calls it sees; the first one stops looking once it fires.
    rig.sys.fail('KVM_IRQFD', EBUSY, { nth: 2 }).fail('KVM_IRQFD', EINVAL, { nth: 2 });
    batch(rig, () => {
      setMsi(a, X);
      unmask(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['KVM_IRQFD', -EBUSY],
      ['KVM_IRQFD', -EINVAL],
    ]);
    // The kernel kept A's irqfd assigned, so it kept A's route, and A says so.
    const gsi = rig.model.irqfdGsi(a.route.event.ownFd());
    expect(gsi).toBe(24);
    expect(rig.model.msiRoutes().has(24)).toBe(true);
    expect(a.route.fault).toBeDefined();
    expect({ msi: a.route.msi, masked: a.route.masked }).toEqual({ msi: rig.model.msiRoutes().get(24), masked: false });
    rig.checkAll('after the double fault');
    // A's next signal is delivered, not lost.
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.model.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.msi).toBeUndefined();
  });

  it("A armed; B's assign fails (EBUSY), then the rollback's commit fails (ENOMEM): A is not assigned on an unrouted GSI, latches, and converges", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    setMsi(a, X);
    unmask(a);
    rig.checkAll('A armed');
    rig.sys.fail('KVM_IRQFD', EBUSY, { nth: 2 }).fail('KVM_SET_GSI_ROUTING', ENOMEM, { nth: 2 });
    batch(rig, () => {
      clearMsi(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['KVM_IRQFD', -EBUSY],
      ['KVM_SET_GSI_ROUTING', -ENOMEM],
    ]);
    // The kernel has no route for A's MSI: A's irqfd is not assigned, A reports it, and latches.
    expect(rig.model.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.fault).toBeDefined();
    expect(a.route.masked).toBe(true);
    expect(a.spec).toEqual({ msi: expect.anything(), masked: false, disposed: false });
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault'); // latches: consumePending reports it below
    rig.checkAll('after the signal');
    rig.converge('next operation'); // delivers the latched signal at arm
    expect(rig.model.irqfdGsi(a.route.event.ownFd())).toBe(a.route.gsi);
    expect(a.route.masked).toBe(false);
  });
});
