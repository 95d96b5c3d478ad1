/**
 * The delivery hooks both emulators take (`requestMsi`, `policy`, `onError`), checked once, in one
 * place, so that the MSI-X and the plain MSI emulator refuse the same mistakes with the same words.
 */
import { DEFAULT_MSI_POLICY, type MsiPolicy } from '@tsvmm/virt';
import { invalidArgument } from '@tsvmm/virt/implement';
import type { MsiInjector, MsixErrorHandler } from './route';

export interface DeliveryOptions {
  readonly requestMsi?: MsiInjector;
  readonly policy?: MsiPolicy;
  readonly onError?: MsixErrorHandler;
}

/** The checked hooks; INVALID_ARGUMENT for a non-function injector or handler, or a malformed policy. */
export function checkDelivery(op: string, options: DeliveryOptions): { inject: MsiInjector | undefined; policy: MsiPolicy; onError: MsixErrorHandler | undefined } {
  // Each hook is read once: a getter answering a function to the check and something else later would slip past it.
  const { requestMsi: inject, onError, policy: policyOption } = options;
  if (inject !== undefined && typeof inject !== 'function') {
    throw invalidArgument(op, 'requestMsi must be a function (addressLo, addressHi, data) => void');
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalidArgument(op, 'onError must be a function (error, vector, operation) => void');
  }
  const policy = policyOption ?? DEFAULT_MSI_POLICY;
  // A malformed policy would make every route-less message "invalid": interrupts held forever, silently.
  if (typeof policy !== 'object' || policy === null || (policy.addressHi !== 'reject' && policy.addressHi !== 'x2apic-ids')) {
    throw invalidArgument(op, "policy must be an MsiPolicy ({ addressHi: 'reject' | 'x2apic-ids', backend }), e.g. the partition's or DEFAULT_MSI_POLICY");
  }
  return { inject, policy, onError };
}
