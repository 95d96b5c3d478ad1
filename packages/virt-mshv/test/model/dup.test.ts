/**
 * Numbers and open files on the mshv model (the cases, shared with every Linux kernel model, are
 * `modelFileTests` in @tsvmm/linux-sys/testing; the partition fd's case is mshv's own). What this
 * buys users (closing `route.event.fd` never crosses two routes) is in ../irqfd.test.ts, on every
 * target.
 */
import { MODEL_FILES_GSI, MODEL_FILES_VECTOR, modelFileTests } from '@tsvmm/linux-sys/testing';
import { MshvKernelModel } from '../../src/testing';
import { CREATE_PARTITION, CREATE_VP, INITIALIZE_PARTITION, IRQFD, SET_MSI_ROUTING, createPartitionArg, irqfdArg, table, vpArg } from '../support/mshv-raw';

/** A partition with one VP (APIC software-enabled) and GSI 40 routed, reached through its fd only. */
function world(): { m: MshvKernelModel; pt: number } {
  const m = new MshvKernelModel();
  const dev = m.open('/dev/mshv', 2);
  const pt = m.ioctl(dev, CREATE_PARTITION, createPartitionArg(1n));
  expect(m.ioctl(pt, INITIALIZE_PARTITION, 0)).toBe(0);
  m.ioctl(pt, CREATE_VP, vpArg(0));
  m.partitionOf(pt)!.apic(0)!.softwareEnabled = true;
  expect(m.close(dev)).toBe(0);
  expect(m.ioctl(pt, SET_MSI_ROUTING, table([[MODEL_FILES_GSI, 0xfee00000, 0, MODEL_FILES_VECTOR]]))).toBe(0);
  return { m, pt };
}

describe('mshv model: dup, close and sameFile', () => {
  modelFileTests(() => {
    const { m, pt } = world();
    return {
      sys: m,
      irqfd: (fd, gsi, deassign) => m.ioctl(pt, IRQFD, irqfdArg(fd, gsi, deassign ? 1 : 0)),
      irqfdGsi: (fd) => m.irqfdGsi(pt, fd),
      irqfdCount: () => m.partitionOf(pt)!.irqfds.length,
      bus: () => m.partitionOf(pt)!.bus,
    };
  });

  it('a dup of the partition fd keeps the partition open until its last number', () => {
    const { m, pt } = world();
    const d = m.dup(pt);
    expect(m.sameFile(pt, d)).toBe(1);
    expect(m.close(pt)).toBe(0);
    expect(m.partitionOf(d)!.partitionFdOpen).toBe(true);
    expect(m.close(d)).toBe(0);
    expect(m.partitions[0]!.partitionFdOpen).toBe(false);
  });
});
