import { isVirtError } from '@tsvmm/virt';
import { EACCES, EBUSY, EINVAL, EMFILE, ENODEV, ENOENT, ENXIO, EPERM, check, errnoByName, errnoCode, errnoError, errnoName, failure, libcSyscalls } from '../src';

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

describe('errno mapping depends on the call', () => {
  it.each([
    ['epoll_ctl(EPOLL_CTL_ADD, 7)', EPERM, 'SYSCALL', /does not support epoll/],
    ['epoll_ctl(EPOLL_CTL_DEL, 7)', ENOENT, 'SYSCALL', /not in the epoll set/],
    ['write(eventfd 7)', EPERM, 'SYSCALL', /EPERM from write/],
    ['read(eventfd 7)', ENXIO, 'SYSCALL', /ENXIO from read/],
    ['open(/dev/kvm)', ENOENT, 'UNAVAILABLE', /modprobe/],
    ['open(/dev/kvm)', EACCES, 'PERMISSION', /kvm group/],
    ['ioctl(KVM_CREATE_VM)', EPERM, 'PERMISSION', /kvm group/],
    ['ioctl(KVM_IRQFD)', EBUSY, 'BUSY', /in use/],
  ])('%s failing with errno %d is %s', (call, errno, code, hint) => {
    expect(errnoCode(errno, call)).toBe(code);
    const e = errnoError('op', errno, { call });
    expect(e.code).toBe(code);
    expect(e.message).toMatch(hint);
    if (code === 'SYSCALL') expect(e.message).not.toMatch(/kvm group|modprobe/);
  });

  it('check() and failure() pass the call, so an epoll_ctl EPERM is not a permission problem', () => {
    let err: unknown;
    try {
      check(-EPERM, 'IrqFdRoute.unmask', 'epoll_ctl(EPOLL_CTL_ADD, 9)');
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, 'SYSCALL')).toBe(true);
    expect(failure(-ENOENT, 'x', 'epoll_ctl(EPOLL_CTL_DEL, 9)').code).toBe('SYSCALL');
    expect(failure(-ENOENT, 'x', 'open(/dev/kvm)').code).toBe('UNAVAILABLE');
  });
});
