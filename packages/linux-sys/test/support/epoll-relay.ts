/**
 * Relay irqfds on a real epoll worker thread, as the relay tests build them: a test policy (no
 * upper address), and the worker's injections recorded in shared memory where a test asks.
 */
import type { IrqFdRoute } from '@tsvmm/virt';
import type { RawInjector } from '@tsvmm/virt/implement';
import { RelayIrqFd } from '@tsvmm/virt/implement';
import { EpollRelayPlatform, type EpollRelayOptions, type Syscalls } from '../../src';
import { REC_COUNT, REC_WORDS, recordingInjectorSpec } from '../../src/testing';

/** A relay irqfd and the platform its constructor made. */
export interface EpollRelay {
  readonly irqfd: RelayIrqFd;
  readonly platform: EpollRelayPlatform;
}

/**
 * A relay irqfd of at most `maxRoutes` routes whose waiter is an {@link EpollRelayPlatform} made
 * with `options`; `inject` delivers what the main thread injects (a latched signal at unmask), by
 * default accepting it. Throws what the platform's constructor throws.
 */
export function epollRelay(options: EpollRelayOptions, maxRoutes: number, inject: RawInjector = () => true): EpollRelay {
  let platform: EpollRelayPlatform | undefined;
  const irqfd = new RelayIrqFd({
    backend: 'test',
    maxRoutes,
    policy: { addressHi: 'reject', backend: 'test' },
    inject,
    reason: 'test',
    platform: (table) => (platform = new EpollRelayPlatform(table, options)),
  });
  return { irqfd, platform: platform! };
}

/** An {@link EpollRelay} whose worker records each injection: `worker` is the record (REC_COUNT, REC_DATA...). */
export interface RecordingRelay extends EpollRelay {
  readonly worker: Int32Array;
  /** Signals `route`'s current event, settles the relay, and resolves to the worker's injections so far (REC_COUNT). */
  signalled(route: IrqFdRoute): Promise<number>;
}

/** What {@link relaysStoppedAfterEach} hands a test file. */
export interface StoppedAfterEach {
  /** A relay of at most `maxRoutes` routes whose worker records with `recordingInjectorSpec` (on `sys`, default libc). */
  recording(maxRoutes: number, inject?: RawInjector, sys?: Syscalls): RecordingRelay;
  /** Stops `platform` after the test too (made by the test itself); returns it. */
  track(platform: EpollRelayPlatform): EpollRelayPlatform;
}

/**
 * Platforms stopped, and their worker threads waited for, after every test of the file that calls
 * this (a test that fails part-way still leaves no thread behind for the next).
 */
export function relaysStoppedAfterEach(): StoppedAfterEach {
  const made: EpollRelayPlatform[] = [];
  afterEach(async () => {
    for (const p of made.splice(0)) {
      p.dispose();
      await p.whenClosed();
    }
  });
  const track = (platform: EpollRelayPlatform): EpollRelayPlatform => (made.push(platform), platform);
  return {
    track,
    recording(maxRoutes, inject, sys) {
      const rec = new SharedArrayBuffer(REC_WORDS * 4);
      const relay = epollRelay({ injector: recordingInjectorSpec(rec), sys }, maxRoutes, inject);
      track(relay.platform);
      const worker = new Int32Array(rec);
      return {
        ...relay,
        worker,
        async signalled(route) {
          route.event.signal();
          await relay.irqfd.settle();
          return Atomics.load(worker, REC_COUNT);
        },
      };
    },
  };
}
