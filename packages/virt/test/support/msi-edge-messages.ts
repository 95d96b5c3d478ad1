/**
 * Messages built near the edge of every MSI rule, under every policy shape: what the tests that
 * hold two MSI parsers together draw from, so a new rule's edge values reach all of them.
 */
import type { MsiPolicy } from '../../src';
import { seededRandom } from '../../src/testing';

/** Every policy shape, valid or not: both sides of each check on a policy must agree on it too. */
export const EDGE_POLICIES: readonly MsiPolicy[] = [
  { addressHi: 'reject', backend: 'a' },
  { addressHi: 'x2apic-ids', backend: 'b' },
  { addressHi: 'x2apic-ids', backend: 'c', deliveryModes: ['fixed', 'lowest-priority', 'nmi', 'init'] },
  { addressHi: 'reject', backend: 'd', deliveryModes: [] },
  { addressHi: 'bogus', backend: 'e' } as unknown as MsiPolicy,
  { addressHi: 'reject', backend: 'f', deliveryModes: 'fixed' } as unknown as MsiPolicy,
  { addressHi: 'x2apic-ids', backend: 'g', extendedDestinationId: 'translate', maxApicId: 0x3ff },
  { addressHi: 'reject', backend: 'h', maxApicId: 1 },
  { addressHi: 'x2apic-ids', backend: 'i', maxApicId: 0x100 },
  { addressHi: 'reject', backend: 'j', extendedDestinationId: 'translate' },
  { addressHi: 'x2apic-ids', backend: 'k', maxApicId: -1 } as unknown as MsiPolicy,
];

/** One drawn message: its three 32-bit words, the joined 64-bit address and the policy it is checked under. */
export interface EdgeMessage {
  readonly lo: number;
  readonly hi: number;
  readonly data: number;
  readonly address: bigint;
  readonly policy: MsiPolicy;
}

/**
 * A generator of messages, repeatable for `seed`: each word is drawn from the values at a rule's
 * edge (interrupt window, redirection hint and destination mode bits, extended destination ID,
 * upper address, vector below 16, each delivery mode, trigger and level bits, bits above 16) or at
 * random, and the policy from {@link EDGE_POLICIES}.
 */
export function edgeMessages(seed: number): () => EdgeMessage {
  const r = seededRandom(seed);
  const word = () => Math.floor(r() * 0x1_0000_0000);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const los = () => pick([0xfee00000, 0xfee01000, 0xfeefffff, 0xfedfffff, 0xfef00000, 0xfee00004, 0xfee00008, 0xfee00010, 0xfee00020, 0xfee0f020, 0xfee01004, (0xfee00004 | 0xff000) >>> 0, 0xfee00001, 0xfee00002, (0xfee00000 | (word() & 0xfffff)) >>> 0, word()]);
  const his = () => pick([0, 0, 0x100, 0x1, 0xffffff00, 0x80, 0x10000, 0x300, word()]);
  const datas = () => pick([0x41, 0x10, 0x0f, 0x100 | 0x41, 0x200, 0x300 | 0x41, 0x400, 0x500, 0x600 | 0x41, 0x700, 0x8041, 0xc041, 0x4041, 0x841, 0x10041, word() & 0xffff, word()]);
  return () => {
    const lo = los();
    const hi = his();
    const data = datas();
    const policy = pick(EDGE_POLICIES);
    return { lo, hi, data, address: (BigInt(hi) << 32n) | BigInt(lo), policy };
  };
}

/**
 * Draws `count` messages from {@link edgeMessages}(`seed`) and hands each to `accepts`, which
 * holds two parsers together on it (throwing, with {@link describeEdgeMessage}, where they differ)
 * and says whether the message was accepted. Then expects both sides of the rules to have been
 * drawn: more than 1,000 messages accepted and more than 1,000 refused.
 */
export function overEdgeMessages(seed: number, count: number, accepts: (m: EdgeMessage) => boolean): void {
  const next = edgeMessages(seed);
  let accepted = 0;
  for (let i = 0; i < count; i++) if (accepts(next())) accepted++;
  expect(accepted).toBeGreaterThan(1_000);
  expect(accepted).toBeLessThan(count - 1_000);
}

/** How a message is shown when two parsers disagree on it. */
export function describeEdgeMessage(m: EdgeMessage): string {
  return `lo ${m.lo.toString(16)} hi ${m.hi.toString(16)} data ${m.data.toString(16)} policy ${JSON.stringify(m.policy)}`;
}
