/**
 * The hostile-options suite of a Linux backend (KVM, mshv): `defineHostileOptionsConformance` of
 * `@tsvmm/virt/conformance` with the seams both read the same way, and a check that a kernel
 * model given through those seams still probes `ok`, so that the suite's failures are the hostile
 * values' and not a broken setup's.
 */
import { type HostileOptionsSubject, callsThrow, defineHostileOptionsConformance, trapsThrow, unprintable } from '@tsvmm/virt/conformance';
import { LINUX_SEAM_CASES } from './hostile-seams';
import { runner } from './irqfd-fault/runner';

/** A Linux backend as {@link defineLinuxHostileOptionsTests} takes it. */
export interface LinuxHostileOptionsBackend extends Omit<HostileOptionsSubject, 'cases' | 'probeOnlyCases'> {
  /**
   * Options that put the backend on a fresh kernel model: `sys`, and any other seam the backend
   * reads with it (mshv's `memory`), which the probe-only cases keep beside their hostile `sys`.
   */
  readonly modelSeams: () => object;
}

/**
 * Registers `defineHostileOptionsConformance` for `backend` with {@link LINUX_SEAM_CASES}, and for
 * the probe only a `sys` whose every call throws a trap-throwing Proxy or an unprintable Error (a
 * `create` rightly lets such a `sys` through to its first call); then a test that `probe` of
 * `modelSeams()` is `available` with `code: 'ok'`. Uses the test runner's globals.
 */
export function defineLinuxHostileOptionsTests(backend: LinuxHostileOptionsBackend): void {
  const { modelSeams, ...subject } = backend;
  defineHostileOptionsConformance({
    ...subject,
    cases: LINUX_SEAM_CASES,
    probeOnlyCases: [
      ['a sys whose calls throw a trap-throwing Proxy', () => ({ ...modelSeams(), sys: callsThrow(trapsThrow()) })],
      ['a sys whose calls throw an unprintable Error', () => ({ ...modelSeams(), sys: callsThrow(unprintable()) })],
    ],
  });
  const { it, expect } = runner();
  it('a model still probes ok (the copy of the options is what create sees)', () => {
    expect(subject.probe(modelSeams())).toMatchObject({ backend: subject.backend, available: true, code: 'ok' });
  });
}
