/**
 * The overflow relay disposes and awaits its platform as RelayIrqFd does: `dispose()` never
 * throws and `whenClosed()` never rejects, whatever a caller's relay platform does (a relayPlatform
 * factory of the Linux backends is often the caller's own).
 */
import { encodeMsi } from '@tsvmm/virt';
import { InProcessRelayPlatform, type RelayPlatform } from '@tsvmm/virt/implement';
import { OverflowRelay } from '../src';

const A = encodeMsi({ destinationId: 0, vector: 0x41 });

/** An overflow relay started (its platform made) on a platform patched by `patch`; returns it and the dispose count. */
function started(patch: (p: RelayPlatform) => void): { relay: OverflowRelay; disposals: () => number } {
  let disposals = 0;
  const relay = new OverflowRelay(2, (t) => {
    const p = new InProcessRelayPlatform(t, () => true);
    const dispose = p.dispose.bind(p);
    p.dispose = () => {
      disposals++;
      dispose();
    };
    patch(p);
    return p;
  });
  // deliverNow starts the relay (its first overflow) and delivers nothing here.
  expect(relay.deliverNow(0, () => 0, { addressLo: A.addressLo, addressHi: 0, data: A.data }, () => true)).toBe(0);
  expect(relay.started).toBe(true);
  return { relay, disposals: () => disposals };
}

test('a platform whose dispose throws: dispose() returns, once, and the platform was asked to dispose', () => {
  const { relay, disposals } = started((p) => {
    const dispose = p.dispose.bind(p);
    p.dispose = () => {
      dispose();
      throw new Error('platform dispose broke');
    };
  });
  expect(() => relay.dispose()).not.toThrow();
  expect(() => relay.dispose()).not.toThrow();
  expect(disposals()).toBe(1);
});

test.each([
  [
    'throws',
    () => {
      throw new Error('whenClosed threw');
    },
  ],
  ['rejects', () => Promise.reject(new Error('rejected'))],
  ['returns a number', () => 5],
])('a platform whose whenClosed %s: whenClosed() returns a promise that resolves', async (_label, whenClosed) => {
  const { relay } = started((p) => {
    (p as { whenClosed: unknown }).whenClosed = whenClosed;
  });
  relay.dispose();
  let closed: Promise<void> | undefined;
  expect(() => (closed = relay.whenClosed())).not.toThrow();
  await expect(closed).resolves.toBeUndefined();
});
