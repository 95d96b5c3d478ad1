/**
 * The double-fault suite on the real /dev/kvm: every pair of system calls of every operation and
 * batch shape fails together; afterwards what each route reports is checked against real delivery
 * (IRR through KVM_GET_LAPIC, latched signals through consumePending), and one operation that
 * succeeds must converge every route. The model version (./model/double-fault.test.ts) also checks
 * the kernel's assigned irqfds and table directly, which KVM does not let user space read back.
 */
import { Rig } from './model/harness';
import { ERRNOS, countCalls, failPair, shapes } from './model/shapes';
import { describeKvm } from './kvm-env';

describeKvm('every pair of system calls of every operation fails (real /dev/kvm)', () => {
  for (const shape of shapes) {
    it(shape.name, () => {
      const calls = countCalls(shape, true);
      expect(calls).toBeGreaterThan(0);
      let trials = 0;
      for (let i = 0; i < calls; i++) {
        for (let j = i + 1; j <= calls; j++) {
          // j === calls: only call i fails (the single faults, and a second fault past the end).
          const errno = ERRNOS[(i + j) % ERRNOS.length]!;
          using rig = new Rig({ real: true });
          const routes = shape.setup(rig);
          rig.checkAll('setup');
          const mark = rig.sys.mark();
          failPair(rig, i, j, errno);
          const where = `${shape.name}, failing calls ${i + 1} and ${j + 1} with errno ${errno}`;
          shape.op(rig, routes);
          rig.sys.clearFaults();
          const failed = rig.sys.callsSince(mark).filter((r) => r.injected).map((r) => r.label);
          rig.checkAll(`${where} (${failed.join(', ')})`);
          if (failed.length === 1) {
            // One failure: the rollback succeeds, so no route is left apart from what was asked.
            for (const t of rig.live()) expect({ where, route: t.name, fault: t.route.fault?.message }).toEqual({ where, route: t.name, fault: undefined });
          }
          rig.probe(`${where} (${failed.join(', ')})`);
          rig.converge(where);
          trials++;
        }
      }
      expect(trials).toBe((calls * (calls + 1)) / 2);
    });
  }
});

