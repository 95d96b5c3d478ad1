import type { LocalApicAccess } from '../contract/partition';
import type { DeliveryObserver } from './types';

/** A {@link DeliveryObserver} reading IRR through a backend's {@link LocalApicAccess}. */
export function apicObserver(access: LocalApicAccess): DeliveryObserver {
  return {
    apicId: (vcpu) => access.readLocalApic(vcpu).apicId,
    take: (vcpu) => {
      const vectors = [...access.readLocalApic(vcpu).irr];
      access.clearIrr(vcpu);
      return vectors;
    },
  };
}
