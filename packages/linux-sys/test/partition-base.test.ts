/**
 * The lifetime KVM and mshv partitions share (LinuxPartitionBase): teardown once, in order, never
 * throwing; DISPOSED and INVALID_ARGUMENT from the vCPU descriptor lookup.
 */
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { LinuxPartitionBase, type Syscalls } from '../src';

/** A partition over vCPU descriptors 11 and 12 whose teardown steps are logged; `irqfdThrows` makes its irqfd's disposal throw. */
class LoggedPartition extends LinuxPartitionBase {
  readonly log: string[];
  constructor(
    log: string[],
    private readonly irqfdThrows: boolean,
  ) {
    super({ close: (fd: number) => (log.push(`close ${fd}`), 0) } as unknown as Syscalls, [11, 12], 'the test partition');
    this.log = log;
  }
  fd(vcpu: number): number {
    return this.vcpuFdFor('LoggedPartition.fd', vcpu);
  }
  protected disposeIrqFd(): void {
    this.log.push('irqfd');
    if (this.irqfdThrows) throw new Error('irqfd teardown failed');
  }
  protected releaseOwned(): void {
    this.log.push('owned');
  }
}

describe('LinuxPartitionBase', () => {
  it.each([false, true])('dispose: the irqfd, each vCPU descriptor, then what the backend owns, once (the irqfd throwing: %s)', (irqfdThrows) => {
    const p = new LoggedPartition([], irqfdThrows);
    expect(p.disposed).toBe(false);
    expect(() => p.dispose()).not.toThrow();
    p[Symbol.dispose]();
    p.dispose();
    expect(p.log).toEqual(['irqfd', 'close 11', 'close 12', 'owned']);
    expect(p.disposed).toBe(true);
  });

  it("a vCPU's descriptor by index; INVALID_ARGUMENT outside 0 to count-1, DISPOSED after dispose, naming the operation and the partition", () => {
    const p = new LoggedPartition([], false);
    expect([p.fd(0), p.fd(1)]).toEqual([11, 12]);
    for (const bad of [-1, 2, 0.5, '0']) {
      expect(() => p.fd(bad as number)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', operation: 'LoggedPartition.fd' }));
    }
    p.dispose();
    const e = virtErrorThrownBy(() => p.fd(0), 'DISPOSED');
    expect(e.operation).toBe('LoggedPartition.fd');
    expect(e.message).toMatch(/the test partition/);
  });
});
