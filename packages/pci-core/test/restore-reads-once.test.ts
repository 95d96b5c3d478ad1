/**
 * restore() reads each snapshot field exactly once, from own data properties only, validates that
 * copy and applies it: a getter answering validly first and differently second cannot slip past
 * the checks, and a snapshot with accessors or inherited fields is INVALID_ARGUMENT before any change.
 * One body per emulator kind (MSI and MSI-X).
 */
import { isVirtError } from '@tsvmm/virt';
import { raise } from '@tsvmm/virt/conformance';
import { thrownBy } from '@tsvmm/virt/testing';
import { MsiEmulator, MsixEmulator } from '../src';

interface Kind {
  readonly name: string;
  readonly make: () => { save(): object; restore(s: never): void; configRead(offset: number, size: number): number };
  /** A valid snapshot with a field changed (what save() of a programmed function would give). */
  readonly programmed: (good: Record<string, unknown>) => Record<string, unknown>;
  /** Fields whose second answer would be invalid: [field, second answer]. */
  readonly flips: ReadonlyArray<readonly [string, unknown]>;
}

const KINDS: readonly Kind[] = [
  {
    name: 'MsiEmulator',
    make: () => new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true }),
    programmed: (good) => ({ ...good, enable: true, addressLo: 0xfee00000, data: 0x41 }),
    flips: [
      ['multipleMessageEnable', 7],
      ['data', 'zz'],
      ['enable', 'yes'],
      ['addressLo', 0xfee00003],
      ['mask', -1],
      ['pending', [1, 9999, 'x', -5]],
    ],
  },
  {
    name: 'MsixEmulator',
    make: () => new MsixEmulator({ vectors: 4, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 0x1000 } }),
    programmed: (good) => ({ ...good, enable: true }),
    flips: [
      ['enable', 'yes'],
      ['functionMask', 1],
      ['table', ['x', -1, 2.5, NaN]],
      ['pending', [1, 9999, 'x', -5]],
    ],
  },
];

describe.each(KINDS)('$name.restore reads the snapshot once', (kind) => {
  it.each(kind.flips)('a %s getter valid on its first read and %p on its second is not applied', (field, second) => {
    const emu = kind.make();
    const before = emu.save();
    const good = kind.programmed(before as Record<string, unknown>);
    let reads = 0;
    const s = { ...good };
    Object.defineProperty(s, field, { enumerable: true, get: () => (reads++ === 0 ? good[field] : second) });
    const e = thrownBy(() => emu.restore(s as never));
    // Accessors are refused outright: nothing is read twice, nothing changes.
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain(field);
    expect(emu.save()).toEqual(before);
  });

  it('each field of an own-data snapshot is read once, and what was checked is what is applied', () => {
    const emu = kind.make();
    const good = kind.programmed(emu.save() as Record<string, unknown>);
    const counts = new Map<PropertyKey, number>();
    const counting = new Proxy(
      { ...good },
      {
        get(t, k, r) {
          counts.set(k, (counts.get(k) ?? 0) + 1);
          return Reflect.get(t, k, r) as unknown;
        },
        getOwnPropertyDescriptor(t, k) {
          counts.set(k, (counts.get(k) ?? 0) + 1);
          return Reflect.getOwnPropertyDescriptor(t, k);
        },
      },
    );
    emu.restore(counting as never);
    for (const field of Object.keys(good)) expect([field, counts.get(field)]).toEqual([field, 1]);
    expect(emu.save()).toEqual(good);
  });

  it('a snapshot inheriting its fields from its prototype is INVALID_ARGUMENT, nothing changed', () => {
    const emu = kind.make();
    const before = emu.save();
    const inherited = Object.create(kind.programmed(before as Record<string, unknown>)) as object;
    const e = thrownBy(() => emu.restore(inherited as never));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/inherit/);
    expect(emu.save()).toEqual(before);
  });

  it('a non-enumerable extra own key is an unknown key', () => {
    const emu = kind.make();
    const s = Object.defineProperty({ ...emu.save() }, 'zzz', { value: 1, enumerable: false });
    const e = thrownBy(() => emu.restore(s as never));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain("'zzz'");
  });

  it('a snapshot that throws when read (a Proxy whose traps throw) is INVALID_ARGUMENT, nothing changed', () => {
    const emu = kind.make();
    const before = emu.save();
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          return raise(new Proxy({}, { get: () => raise(new Error('trap')) }));
        },
      },
    );
    const e = thrownBy(() => emu.restore(hostile as never));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(emu.save()).toEqual(before);
  });

  it('an array field whose elements answer differently on a second read is checked and applied from one read', () => {
    const emu = kind.make();
    const good = kind.programmed(emu.save() as Record<string, unknown>);
    const pending = [0];
    let reads = 0;
    Object.defineProperty(pending, 0, { enumerable: true, get: () => (reads++ === 0 ? 0 : 9999) });
    emu.restore({ ...good, pending } as never);
    expect((emu.save() as { pending: number[] }).pending).toEqual([0]);
  });
});

describe('the constructors read each hook once', () => {
  /** `base` with each of `names` as a getter answering a function first and a non-function after, counting reads. */
  const withHooks = (base: Record<string, unknown>, names: readonly string[]) => {
    const counts = new Map<string, number>();
    const options = { ...base };
    for (const name of names) {
      Object.defineProperty(options, name, {
        enumerable: true,
        get: () => {
          const n = (counts.get(name) ?? 0) + 1;
          counts.set(name, n);
          return n === 1 ? () => undefined : 'not a function';
        },
      });
    }
    return { options, counts };
  };

  it.each([
    ['MsiEmulator', ['requestMsi', 'onError', 'onControl'], { vectors: 1, address64: false, perVectorMasking: false }, (o: object) => new MsiEmulator(o as never)],
    ['MsixEmulator', ['requestMsi', 'onError'], { vectors: 1, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 0x1000 } }, (o: object) => new MsixEmulator(o as never)],
  ] as const)('new %s: %p each read once', (_name, names, base, make) => {
    const { options, counts } = withHooks(base, names);
    make(options);
    for (const name of names) expect([name, counts.get(name)]).toEqual([name, 1]);
  });
});
