/**
 * Finding the C library from files: the ELF PT_INTERP parser on crafted images (glibc's loader,
 * musl's, a static executable, 32-bit big-endian, truncated and corrupted files), the maps scan,
 * the fallback order over files on disk, and the running process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ReadAt, bufferReader, detectHostLibc, elfInterpreter, elfInterpreterOfFile, libcOfInterpreter, libcOfMaps, processHostLibc } from '../src/host-libc';

const GLIBC_LOADER = '/lib64/ld-linux-x86-64.so.2';
const MUSL_LOADER = '/lib/ld-musl-x86_64.so.1';
const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_PHDR = 6;

interface ImageOptions {
  readonly interp?: string;
  readonly bits?: 32 | 64;
  readonly littleEndian?: boolean;
}

/** An ELF executable image: header, program headers (PT_PHDR, PT_INTERP when asked, PT_LOAD), then the loader path. */
function elfImage({ interp, bits = 64, littleEndian = true }: ImageOptions = {}): Buffer {
  const is64 = bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const types = interp === undefined ? [PT_PHDR, PT_LOAD] : [PT_PHDR, PT_INTERP, PT_LOAD];
  const pathAt = ehsize + phentsize * types.length;
  const path = interp === undefined ? Buffer.alloc(0) : Buffer.from(`${interp}\0`, 'latin1');
  const image = Buffer.alloc(pathAt + path.length + 16);
  const v = new DataView(image.buffer, image.byteOffset, image.length);
  const u16 = (at: number, x: number) => v.setUint16(at, x, littleEndian);
  const u32 = (at: number, x: number) => v.setUint32(at, x, littleEndian);
  const word = (at: number, x: number) => (is64 ? v.setBigUint64(at, BigInt(x), littleEndian) : v.setUint32(at, x, littleEndian));
  image.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, littleEndian ? 1 : 2, 1], 0);
  u16(16, 3); // ET_DYN
  u16(18, 62); // EM_X86_64
  u32(20, 1);
  word(is64 ? 0x20 : 0x1c, ehsize); // e_phoff
  u16(is64 ? 0x34 : 0x28, ehsize);
  u16(is64 ? 0x36 : 0x2a, phentsize);
  u16(is64 ? 0x38 : 0x2c, types.length);
  types.forEach((type, i) => {
    const at = ehsize + i * phentsize;
    u32(at, type);
    const [offset, size] = type === PT_INTERP ? [pathAt, path.length] : type === PT_PHDR ? [ehsize, phentsize * types.length] : [0, image.length];
    if (is64) {
      word(at + 8, offset);
      word(at + 32, size);
      word(at + 40, size);
    } else {
      word(at + 4, offset);
      word(at + 16, size);
      word(at + 20, size);
    }
  });
  path.copy(image, pathAt);
  return image;
}

const interpOf = (image: Uint8Array) => elfInterpreter(bufferReader(image));

describe('elfInterpreter', () => {
  it('reads the loader path of PT_INTERP: glibc, musl, 32-bit big-endian; none for a static executable', () => {
    expect(interpOf(elfImage({ interp: GLIBC_LOADER }))).toBe(GLIBC_LOADER);
    expect(interpOf(elfImage({ interp: MUSL_LOADER }))).toBe(MUSL_LOADER);
    expect(interpOf(elfImage({ interp: '/lib/ld-linux.so.2', bits: 32, littleEndian: false }))).toBe('/lib/ld-linux.so.2');
    expect(interpOf(elfImage())).toBeUndefined();
  });

  it('never throws on a truncated, corrupted or foreign file: undefined, or a path', () => {
    const valid = elfImage({ interp: GLIBC_LOADER });
    for (let n = 0; n < valid.length; n++) {
      // Cut anywhere before the end of the path's NUL, the file no longer holds the whole path.
      const expected = n >= valid.indexOf(0, valid.indexOf(GLIBC_LOADER, 0, 'latin1')) + 1 ? GLIBC_LOADER : undefined;
      expect({ n, interp: interpOf(valid.subarray(0, n)) }).toEqual({ n, interp: expected });
    }
    for (let at = 0; at < valid.length; at++) {
      for (const byte of [0x00, 0x01, 0x03, 0x38, 0x7f, 0x80, 0xff]) {
        const bad = Buffer.from(valid);
        bad[at] = byte;
        const interp = interpOf(bad);
        expect(interp === undefined || typeof interp === 'string').toBe(true);
      }
    }
    let seed = 0x2545f491;
    const random = () => ((seed = (seed ^ (seed << 13)) >>> 0), (seed = (seed ^ (seed >>> 17)) >>> 0), (seed = (seed ^ (seed << 5)) >>> 0));
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.alloc(random() % 512, 0).map(() => random() & 0xff);
      if (i % 2 === 0) junk.set([0x7f, 0x45, 0x4c, 0x46, 1 + (random() % 2), 1 + (random() % 2)].slice(0, junk.length));
      const interp = interpOf(junk);
      expect(interp === undefined || typeof interp === 'string').toBe(true);
    }
    expect(interpOf(Buffer.from('#!/bin/sh\necho not an ELF file\n'))).toBeUndefined();
    expect(interpOf(Buffer.alloc(0))).toBeUndefined();
    const failing: ReadAt = () => {
      throw new Error('EIO');
    };
    expect(elfInterpreter(failing)).toBeUndefined();
  });

  it('refuses header values that would read far or much: PN_XNUM, a huge table, an offset past the file, an empty path', () => {
    const image = () => Buffer.from(elfImage({ interp: GLIBC_LOADER }));
    const phnumXnum = image();
    phnumXnum.writeUInt16LE(0xffff, 0x38);
    const hugeEntries = image();
    hugeEntries.writeUInt16LE(0xffff, 0x36);
    const farTable = image();
    farTable.writeBigUInt64LE(1n << 62n, 0x20);
    const farPath = image();
    farPath.writeBigUInt64LE(1n << 40n, 64 + 56 + 8);
    const emptyPath = image();
    emptyPath.fill(0, emptyPath.indexOf(GLIBC_LOADER, 0, 'latin1'));
    for (const [name, bad] of Object.entries({ phnumXnum, hugeEntries, farTable, farPath, emptyPath })) {
      expect({ name, interp: interpOf(bad) }).toEqual({ name, interp: undefined });
    }
  });

  it('reads only the header, the program header table and the path, in small pieces', () => {
    const image = Buffer.concat([elfImage({ interp: MUSL_LOADER }), Buffer.alloc(1 << 20)]);
    const reads: number[] = [];
    const read: ReadAt = (position, length) => {
      reads.push(length);
      return image.subarray(position, position + length);
    };
    expect(elfInterpreter(read)).toBe(MUSL_LOADER);
    expect(reads.length).toBe(3);
    expect(Math.max(...reads)).toBeLessThanOrEqual(4096);
  });
});

describe('libcOfInterpreter and libcOfMaps', () => {
  it('name the C library from a loader path', () => {
    expect(libcOfInterpreter(GLIBC_LOADER)).toBe('glibc');
    expect(libcOfInterpreter('/nix/store/abc-glibc-2.40/lib/ld-linux-x86-64.so.2')).toBe('glibc');
    expect(libcOfInterpreter('/lib/ld64.so.2')).toBe('glibc');
    expect(libcOfInterpreter(MUSL_LOADER)).toBe('musl');
    expect(libcOfInterpreter('/system/bin/linker64')).toBeUndefined();
    expect(libcOfInterpreter('')).toBeUndefined();
  });

  it('name the C library from what a process has mapped; musl wins over a libc.so.6 shim', () => {
    const line = (path: string) => `7f0000000000-7f0000001000 r-xp 00000000 08:01 1234     ${path}`;
    const glibc = [line('/usr/bin/node'), line('/usr/lib/x86_64-linux-gnu/libc.so.6'), '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0     [stack]'].join('\n');
    expect(libcOfMaps(glibc)).toBe('glibc');
    expect(libcOfMaps(line('/lib/libc.so.6 (deleted)'))).toBe('glibc');
    expect(libcOfMaps([line('/usr/bin/node'), line('/lib/libc.so.6'), line('/lib/ld-musl-x86_64.so.1')].join('\n'))).toBe('musl');
    expect(libcOfMaps(line('/usr/lib/libc.musl-x86_64.so.1'))).toBe('musl');
    expect(libcOfMaps([line('/usr/bin/node'), line('[heap]'), ''].join('\n'))).toBeUndefined();
    expect(libcOfMaps('')).toBeUndefined();
  });
});

describe('detectHostLibc', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsvmm-host-libc-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('takes PT_INTERP first, then the maps, then glibc; a missing, garbage or unreadable file is skipped', () => {
    const musl = file('musl-exe', elfImage({ interp: MUSL_LOADER }));
    const glibc = file('glibc-exe', elfImage({ interp: GLIBC_LOADER }));
    const staticExe = file('static-exe', elfImage());
    const garbage = file('garbage', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 0xff]));
    const missing = join(dir, 'missing');
    const muslMaps = file('musl-maps', '7f00-7f01 r-xp 00000000 08:01 1 /lib/ld-musl-x86_64.so.1\n');
    const glibcMaps = file('glibc-maps', '7f00-7f01 r-xp 00000000 08:01 1 /lib/x86_64-linux-gnu/libc.so.6\n');
    const emptyMaps = file('empty-maps', '');

    expect(detectHostLibc({ executables: [musl], maps: glibcMaps })).toBe('musl');
    expect(detectHostLibc({ executables: [glibc], maps: muslMaps })).toBe('glibc');
    expect(detectHostLibc({ executables: [missing, garbage, musl], maps: glibcMaps })).toBe('musl');
    expect(detectHostLibc({ executables: [staticExe], maps: muslMaps })).toBe('musl');
    expect(detectHostLibc({ executables: [staticExe, garbage], maps: glibcMaps })).toBe('glibc');
    expect(detectHostLibc({ executables: [missing], maps: missing })).toBe('glibc');
    expect(detectHostLibc({ executables: [], maps: emptyMaps })).toBe('glibc');
    expect(detectHostLibc({ executables: [dir], maps: dir })).toBe('glibc');
    // A FIFO with no writer: opened without blocking, read as empty.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(detectHostLibc({ executables: [fifo, musl], maps: fifo })).toBe('musl');
    expect(detectHostLibc({ executables: [fifo], maps: fifo })).toBe('glibc');
  });

  it('finds the running process’s loader, the one its memory map shows', () => {
    if (process.platform !== 'linux') return;
    const interp = elfInterpreterOfFile('/proc/self/exe');
    const maps = readFileSync('/proc/self/maps', 'latin1');
    if (interp !== undefined) expect(maps).toContain(interp.slice(interp.lastIndexOf('/') + 1));
    expect(processHostLibc()).toBe(detectHostLibc());
    expect(processHostLibc()).toBe(libcOfInterpreter(interp ?? '') ?? libcOfMaps(maps) ?? 'glibc');
  });
});
