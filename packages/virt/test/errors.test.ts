import { VirtError, isVirtError } from '../src';
import { disposedError, exhaustedError, invalidArgument } from '../src/implement';

test('a VirtError carries code, operation, errno and a message that says what to do', () => {
  const e = new VirtError('BUSY', {
    operation: 'ioctl(KVM_IRQFD)',
    detail: 'the eventfd is already assigned',
    errno: 16,
    errnoName: 'EBUSY',
    hint: 'Deassign it first.',
  });
  expect(e).toBeInstanceOf(Error);
  expect(e.name).toBe('VirtError');
  expect(e.code).toBe('BUSY');
  expect(e.errno).toBe(16);
  expect(e.message).toBe('ioctl(KVM_IRQFD): the eventfd is already assigned (EBUSY 16) [BUSY]. Deassign it first.');
  expect(isVirtError(e)).toBe(true);
  expect(isVirtError(e, 'BUSY')).toBe(true);
  expect(isVirtError(e, 'SYSCALL')).toBe(false);
  expect(isVirtError(new Error('x'))).toBe(false);
});

test('HRESULTs print as unsigned hex', () => {
  const e = new VirtError('HRESULT', { operation: 'WHvCreateTrigger', detail: 'failed', hresult: 0x80070057 | 0 });
  expect(e.message).toContain('HRESULT 0x80070057');
});

test('helpers build the common errors with hints', () => {
  expect(invalidArgument('op', 'bad').message).toMatch(/nothing was changed/);
  expect(disposedError('op', 'the route')).toMatchObject({ code: 'DISPOSED', operation: 'op' });
  expect(exhaustedError('op', 'GSIs', 4072).message).toMatch(/all 4072 GSIs are in use.*Dispose routes/);
});
