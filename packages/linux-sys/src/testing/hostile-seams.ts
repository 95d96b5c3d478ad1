/**
 * The options a Linux backend's `probe()` and `create()` read through the same seams (`sys`, the
 * injected system calls, and `device`, the device node's path), made hostile for
 * `defineHostileOptionsConformance` of `@tsvmm/virt/conformance`: both Linux backends run them.
 */
import { type HostileOptionsCase, raise, trapsThrow, unprintable } from '@tsvmm/virt/conformance';

/** `vcpus: 1` with a `sys` getter or a `sys` that throws when touched, and a `device` getter that throws. */
export const LINUX_SEAM_CASES: readonly HostileOptionsCase[] = Object.freeze([
  ['a sys getter that throws a trap-throwing Proxy', () => ({ vcpus: 1, get sys(): never { return raise(trapsThrow()); } })],
  ['a sys that is a trap-throwing Proxy', () => ({ vcpus: 1, sys: trapsThrow() })],
  ['a device getter that throws an unprintable Error', () => ({ vcpus: 1, get device(): never { return raise(unprintable()); } })],
] as const);
