/**
 * `defaultRelayPlatform` on a kernel model: the model has no epoll, and the ENOSYS of the default
 * worker carries the model's advice (which relay platform to pass). System calls without that advice
 * (anything that is not a model) get the epoll platform's own error unchanged.
 */
import { isVirtError } from '@tsvmm/virt';
import { RelayRouteTable } from '@tsvmm/virt/implement';
import { thrownBy } from '@tsvmm/virt/testing';
import { defineLayout } from '@tsvmm/ffi';
import { type IoctlDef, type Syscalls, _IOW, defaultRelayPlatform, defineIoctl, ioctlInjector } from '../../src';
import { ModelKernel } from '../../src/testing';

class BareKernel extends ModelKernel<{ kind: 'dev' }> {
  open(_path: string, _flags: number): number {
    return -2;
  }
  ioctl(_fd: number, _request: IoctlDef, _arg?: number | Uint8Array): number {
    return -25;
  }
}

const MSI = defineLayout('struct kvm_msi', 32, { addressLo: { offset: 0, type: 'u32' }, addressHi: { offset: 4, type: 'u32' }, data: { offset: 8, type: 'u32' } });
const injector = ioctlInjector({ fd: 7, ioctl: defineIoctl('KVM_SIGNAL_MSI', _IOW(0xae, 0xa5, 32)), layout: MSI, fields: { addressLo: 'addressLo', addressHi: 'addressHi', data: 'data' } });

describe('defaultRelayPlatform on a kernel model', () => {
  it("the ENOSYS carries the model's advice as its hint, the epoll error as cause", () => {
    const model = new BareKernel(100);
    const e = thrownBy(() => defaultRelayPlatform(model, injector)(new RelayRouteTable(2)));
    expect(isVirtError(e) && [e.code, e.errnoName, e.hint]).toEqual(['SYSCALL', 'ENOSYS', model.relayPlatformAdvice()]);
    expect(isVirtError(e) && isVirtError(e.cause) && e.cause.hint).toBe('The kernel does not implement this call.');
    expect(model.files.size).toBe(0);
  });

  it('system calls without relayPlatformAdvice get the epoll error unchanged', () => {
    const model = new BareKernel(100);
    const plain = new Proxy(model, { get: (t, k) => (k === 'relayPlatformAdvice' ? undefined : (Reflect.get(t, k) as unknown)) }) as Syscalls;
    const e = thrownBy(() => defaultRelayPlatform(plain, injector)(new RelayRouteTable(2)));
    expect(isVirtError(e) && [e.code, e.errnoName, e.hint]).toEqual(['SYSCALL', 'ENOSYS', 'The kernel does not implement this call.']);
  });
});
