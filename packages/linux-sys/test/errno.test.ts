import { isVirtError } from '@tsvmm/virt';
import { EACCES, EBUSY, EINVAL, EMFILE, ENODEV, ENOENT, ENXIO, EPERM, errnoByName, errnoCode, errnoError, errnoName, libcSyscalls } from '../src';

describe('errno mapping', () => {
  it('names', () => {
    expect(errnoName(EBUSY)).toBe('EBUSY');
    expect(errnoName(EINVAL)).toBe('EINVAL');
    expect(errnoName(4242)).toBe('errno 4242');
    expect(errnoByName('EMFILE')).toBe(EMFILE);
  });

  it.each([
    [EBUSY, 'BUSY'],
    [EACCES, 'PERMISSION'],
    [EPERM, 'PERMISSION'],
    [ENOENT, 'UNAVAILABLE'],
    [ENODEV, 'UNAVAILABLE'],
    [ENXIO, 'UNAVAILABLE'],
    [EINVAL, 'SYSCALL'],
    [EMFILE, 'SYSCALL'],
  ])('errno %d -> %s', (errno, code) => {
    expect(errnoCode(errno)).toBe(code);
    const e = errnoError('op', errno);
    expect(isVirtError(e, code as never)).toBe(true);
    expect(e.errno).toBe(errno);
    expect(e.errnoName).toBe(errnoName(errno));
    expect(e.message).toContain(errnoName(errno));
  });

  it('messages say what to do', () => {
    expect(errnoError('op', EMFILE).message).toMatch(/RLIMIT_NOFILE/);
    expect(errnoError('op', EACCES).message).toMatch(/kvm group/);
    expect(errnoError('op', EBUSY, { hint: 'Do X.' }).message).toMatch(/Do X\.$/);
  });

  it('an outcome is added to the errno hint, never replaces it', () => {
    const e = errnoError('IrqFd.batch', EINVAL, { detail: 'ioctl(KVM_SET_GSI_ROUTING) failed', outcome: 'Every route is as it was.' });
    expect(e.message).toMatch(/beyond a kernel limit\. Every route is as it was\./);
  });

  it('the real open() reports ENOENT as -errno', () => {
    expect(libcSyscalls().open('/nonexistent/tsvmm', 0)).toBe(-ENOENT);
  });
});
