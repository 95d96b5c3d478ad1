export { describeWithDevice, deviceAbsenceReason } from './describe-with-device';
export { FaultInjector } from './fault-injector';
export type { SyscallMatcher, SyscallName, SyscallRecord } from './fault-injector';
export { REC_ADDRESS_HI, REC_ADDRESS_LO, REC_COUNT, REC_DATA, REC_WORDS, recordingInjector } from './injectors';

import { builtFile } from '../package-root';
import type { InjectorSpec } from '../relay/protocol';

/** An {@link InjectorSpec} for {@link recordingInjector} (the package must be built). */
export function recordingInjectorSpec(shared: SharedArrayBuffer): InjectorSpec {
  return { module: builtFile(__dirname, '@tsvmm/linux-sys', 'testing/injectors.js'), exportName: 'recordingInjector', args: [shared] };
}
