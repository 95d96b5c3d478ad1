/**
 * ioctl request numbers, encoded as Linux does on x86_64 (`asm-generic/ioctl.h`):
 * `dir << 30 | size << 16 | type << 8 | nr`.
 */
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

/** An ioctl with its name, so errors and fault injection can say which one. */
export interface IoctlDef {
  /** The C macro name, e.g. `KVM_IRQFD`: the C check compares `request` with it. */
  readonly name: string;
  readonly request: number;
}

export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size < 0 || size >= 1 << 14) throw new RangeError(`ioctl argument size ${size} does not fit in 14 bits`);
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

export const _IO = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
export const _IOR = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const _IOW = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
export const _IOWR = (type: number, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

export function defineIoctl(name: string, request: number): IoctlDef {
  return Object.freeze({ name, request });
}
