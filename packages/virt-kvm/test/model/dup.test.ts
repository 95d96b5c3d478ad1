/**
 * Numbers and open files on the KVM model (the cases, shared with every Linux kernel model, are
 * `modelFileTests` in @tsvmm/linux-sys/testing). What this buys users (closing `route.event.fd`
 * never crosses two routes) is in ../irqfd.test.ts, on every target.
 */
import { MODEL_FILES_GSI, MODEL_FILES_VECTOR, modelFileTests } from '@tsvmm/linux-sys/testing';
import { KvmKernelModel } from '../../src/testing';
import { CREATE_IRQCHIP, CREATE_VCPU, CREATE_VM, IRQFD, O_RDWR, SET_GSI_ROUTING, irqfdArg, msiRoutingTable } from '../support/kvm-raw';

describe('KVM model: dup, close and sameFile', () => {
  modelFileTests(() => {
    const m = new KvmKernelModel({ apicIds: [0] });
    const vmFd = m.ioctl(m.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    expect(m.ioctl(vmFd, CREATE_IRQCHIP, 0)).toBe(0);
    m.ioctl(vmFd, CREATE_VCPU, 0);
    m.bus.apics[0]!.softwareEnabled = true;
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, msiRoutingTable(MODEL_FILES_GSI, 0xfee00000, MODEL_FILES_VECTOR))).toBe(0);
    return {
      sys: m,
      irqfd: (fd, gsi, deassign) => m.ioctl(vmFd, IRQFD, irqfdArg(fd, gsi, deassign ? 1 : 0)),
      irqfdGsi: (fd) => m.irqfdGsi(fd),
      irqfdCount: () => m.vm.irqfds.length,
      bus: () => m.bus,
    };
  });
});
