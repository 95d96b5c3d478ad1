import { type Syscalls, _IO, _IOR, _IOW, _IOWR, defineIoctl, ioctlCall, ioctlCallWithoutArg, ioctlFamily } from '../src';
import { decodeStruct, defineLayout, packStruct } from '@tsvmm/ffi';

describe('ioctl encoders', () => {
  it('encode direction, size, type and number', () => {
    expect(_IO(0xae, 0x60)).toBe(0xae60);
    expect(_IOW(0xae, 0x76, 32)).toBe(0x4020ae76);
    expect(_IOR(0xae, 0x8e, 1024)).toBe(0x8400ae8e);
    expect(_IOWR(0xb8, 0x07, 32)).toBe(0xc020b807);
    expect(() => _IOW(0xae, 1, 1 << 14)).toThrow(RangeError);
  });

  it('a family adds its base to each number and takes the size from a layout or a byte count', () => {
    const kvm = ioctlFamily(0xae);
    expect(kvm.iow('KVM_IRQFD', 0x76, { size: 32 })).toEqual({ name: 'KVM_IRQFD', request: 0x4020ae76 });
    expect(kvm.ior('KVM_GET_LAPIC', 0x8e, 1024).request).toBe(0x8400ae8e);
    expect(ioctlFamily(0xb8).iowr('MSHV_ROOT_HVCALL', 0x07, 32).request).toBe(0xc020b807);
    expect(ioctlFamily(0x3b, 100).io('VFIO_DEVICE_RESET', 11)).toEqual({ name: 'VFIO_DEVICE_RESET', request: 0x3b6f });
    expect(Object.isFrozen(kvm.io('KVM_CREATE_VM', 1))).toBe(true);
    expect(() => kvm.iow('KVM_X', 1, { size: 1 << 14 })).toThrow(RangeError);
  });

  it.each([
    ['a negative size', () => _IOW(0xae, 1, -5)],
    ['a size that is a string', () => _IOW(0xae, 1, 'x' as never)],
    ['a fractional size', () => _IOR(0xae, 1, 2.5)],
    ['a type above 8 bits', () => _IO(0x1ae, 1)],
    ['a number above 8 bits', () => _IO(0xae, 256)],
    ['a number past 255 through a family base', () => ioctlFamily(0x3b, 100).io('VFIO_X', 156)],
    ['a request that is not an unsigned 32-bit integer', () => defineIoctl('KVM_X', -1)],
    ['a family type above 8 bits', () => ioctlFamily(0x1ff)],
    ['a family base above 8 bits', () => ioctlFamily(0x3b, 256)],
    ['a negative command number from a base', () => ioctlFamily(0x3b, 100).io('VFIO_X', -50)],
    ['an argument that is neither a layout nor a size', () => ioctlFamily(0xae).iow('KVM_X', 1, undefined as never)],
    ['a null argument', () => ioctlFamily(0xae).iow('KVM_X', 1, null as never)],
  ])('%s is a RangeError, not a wrong request number', (_label, define) => {
    expect(define).toThrow(RangeError);
  });

  it('an ioctl without a name is a TypeError', () => {
    expect(() => defineIoctl(5 as never, 3)).toThrow(TypeError);
    expect(() => defineIoctl('', 3)).toThrow(TypeError);
  });
});

describe('typed ioctl calls', () => {
  /** A `sys` whose ioctl records each call and answers with the next of `answers`. */
  const recording = (answers: number[]): { sys: Syscalls; seen: unknown[][] } => {
    const seen: unknown[][] = [];
    const sys = { ioctl: (...args: unknown[]) => (seen.push(args), answers.shift()!) } as unknown as Syscalls;
    return { sys, seen };
  };
  const KVM_IRQFD = ioctlFamily(0xae).iow('KVM_IRQFD', 0x76, 32);
  const KVM_CREATE_IRQCHIP = ioctlFamily(0xae).io('KVM_CREATE_IRQCHIP', 0x60);

  it.each([
    { what: 'a struct', arg: new Uint8Array(32) },
    { what: 'a value', arg: 7 },
  ])('ioctlCall issues its request on the fd with $what and returns what the kernel answered, -errno included', ({ arg }) => {
    const { sys, seen } = recording([5, -16]);
    const call = ioctlCall<number | Uint8Array>(KVM_IRQFD);
    expect(call(sys, 9, arg)).toBe(5);
    expect(call(sys, 9, arg)).toBe(-16);
    expect(seen).toEqual([
      [9, KVM_IRQFD, arg],
      [9, KVM_IRQFD, arg],
    ]);
    expect(seen[0]![2]).toBe(arg);
  });

  it('ioctlCallWithoutArg issues its request with 0 and returns what the kernel answered', () => {
    const { sys, seen } = recording([0, -22]);
    const call = ioctlCallWithoutArg(KVM_CREATE_IRQCHIP);
    expect(call(sys, 4)).toBe(0);
    expect(call(sys, 4)).toBe(-22);
    expect(seen).toEqual([
      [4, KVM_CREATE_IRQCHIP, 0],
      [4, KVM_CREATE_IRQCHIP, 0],
    ]);
  });
});

describe('struct layouts', () => {
  const L = defineLayout('struct t', 24, {
    a: { offset: 0, type: 'u32' },
    b: { offset: 4, type: 'i32' },
    c: { offset: 8, type: 'u64' },
    d: { offset: 16, type: 'u16' },
    e: { offset: 18, type: 'u8' },
  });

  it('round-trips and zeroes padding', () => {
    const bytes = packStruct(L, { a: 0xfee01000, b: -2, c: 0x1_0000_0001n, d: 0xbeef, e: 7 });
    expect(bytes.length).toBe(24);
    expect(Array.from(bytes.slice(19))).toEqual([0, 0, 0, 0, 0]);
    expect(decodeStruct(L, new DataView(bytes.buffer))).toEqual({ a: 0xfee01000, b: -2, c: 0x1_0000_0001n, d: 0xbeef, e: 7 });
    expect(Array.from(bytes.slice(0, 4))).toEqual([0x00, 0x10, 0xe0, 0xfe]);
  });

  it('refuses a field beyond the size', () => {
    expect(() => defineLayout('struct bad', 4, { x: { offset: 2, type: 'u32' } })).toThrow(RangeError);
  });
});
