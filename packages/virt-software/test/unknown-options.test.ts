/** Unknown option keys are refused. */
import { isVirtError } from '@tsvmm/virt';
import { SoftwarePartition, softwareBackend } from '../src';

it("SoftwarePartition.create: a misspelt key ('x2APIC') is INVALID_ARGUMENT naming it", () => {
  for (const open of [(o: never) => SoftwarePartition.create(o), (o: never) => softwareBackend.open(o)]) {
    let e: unknown;
    try {
      open({ vcpus: 2, x2APIC: true } as never);
    } catch (err) {
      e = err;
    }
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/unknown key 'x2APIC'/);
  }
});
