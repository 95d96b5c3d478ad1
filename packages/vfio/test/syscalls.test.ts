// The real pread/pwrite binding (koffi): 64-bit offsets reach the kernel intact, errors come back
// as -errno. Checked on a sparse temporary file, so it runs on any Linux host.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vfioSyscalls } from '../src';

describe('vfioSyscalls: pread and pwrite through libc', () => {
  it('a write and a read at an offset above 4 GiB, and -EBADF on a closed fd', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-vfio-io-'));
    const file = join(dir, 'sparse');
    writeFileSync(file, '');
    const sys = vfioSyscalls();
    const fd = sys.open(file, 2 /* O_RDWR */);
    try {
      expect(fd).toBeGreaterThanOrEqual(0);
      const offset = 2 ** 33 + 5; // the high half of off_t must arrive, or this lands at offset 5
      expect(sys.pwrite(fd, new Uint8Array([1, 2, 3]), 3, offset)).toBe(3);
      expect(statSync(file).size).toBe(offset + 3);
      const back = new Uint8Array(8);
      expect(sys.pread(fd, back, 3, offset)).toBe(3);
      expect(Array.from(back.subarray(0, 3))).toEqual([1, 2, 3]);
      expect(sys.pread(fd, back, 8, offset + 3)).toBe(0); // at the end
    } finally {
      sys.close(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(sys.pread(fd, new Uint8Array(1), 1, 0)).toBe(-9);
    expect(sys.pwrite(fd, new Uint8Array(1), 1, 0)).toBe(-9);
  });
});
