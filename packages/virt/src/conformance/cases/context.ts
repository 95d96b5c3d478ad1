/** What every case gets: the subject, its irqfd and helpers. */
import type { IrqFd, IrqFdRoute } from '../../contract/irqfd';
import { encodeMsi } from '../../msi/codec';
import { checkEqual } from '../check';
import type { ConformanceManifest, ConformanceSubject } from '../types';

/** What a {@link ConformanceCase} runs with: a fresh subject, its irqfd, and helpers. */
export interface CaseContext {
  /** The subject under test, made for this case alone. */
  readonly subject: ConformanceSubject;
  /** `subject.partition.irqfd()`, known to be present. */
  readonly irqfd: IrqFd;
  /** A fixed, physical, edge MSI naming `vcpu`'s APIC ID. */
  readonly msiFor: (vcpu: number, vector: number) => {
    /** The message address (bits 31:0; the upper half is 0). */
    address: number;
    /** The message data. */
    data: number;
  };
  /** A new route programmed for (vcpu, vector), masked or unmasked. */
  readonly route: (vcpu: number, vector: number, unmasked?: boolean) => IrqFdRoute;
  /** Settles, then checks that exactly these (vcpu, vector) pairs landed since the last look. */
  readonly expectDeliveries: (expected: ReadonlyArray<readonly [number, number]>, what: string) => Promise<void>;
  /** What the backend supports: declared, derived from capabilities, or assumed (see `declared`). */
  readonly manifest: ConformanceManifest;
  /** The manifest keys the backend declared itself. */
  readonly declared: ReadonlyArray<keyof ConformanceManifest>;
}

/** One check of the suite, in {@link conformanceCases}. */
export interface ConformanceCase {
  /** What it proves, used as the test name. */
  readonly name: string;
  /**
   * Why the case does not apply to a backend with this manifest (it is then registered as
   * skipped, with the reason in its name), or undefined when it applies.
   */
  readonly skipReason?: (manifest: ConformanceManifest) => string | undefined;
  /** Runs the case; rejects (a {@link ConformanceFailure} or the backend's error) when it fails. */
  run(ctx: CaseContext): Promise<void>;
}

/** Vectors the cases use. */
export const V = [0x41, 0x42, 0x55, 0x66, 0xa1, 0xef];

/** Builds the context a case runs with. */
export function caseContext(subject: ConformanceSubject, irqfd: IrqFd, manifest: ConformanceManifest, declared: ReadonlyArray<keyof ConformanceManifest> = []): CaseContext {
  const msiFor = (vcpu: number, vector: number) => {
    const m = encodeMsi({ destinationId: subject.observer.apicId(vcpu), vector });
    return { address: m.addressLo, data: m.data };
  };
  return {
    subject,
    irqfd,
    manifest,
    declared,
    msiFor,
    route: (vcpu, vector, unmasked = false) => {
      const r = irqfd.newIrqFdRoute();
      const m = msiFor(vcpu, vector);
      r.setMsi(m.address, m.data);
      if (unmasked) r.unmask();
      return r;
    },
    expectDeliveries: async (expected, what) => {
      await subject.settle();
      const got: Array<[number, number]> = [];
      for (let v = 0; v < subject.partition.vcpuCount; v++) for (const vec of subject.observer.take(v)) got.push([v, vec]);
      const norm = (xs: ReadonlyArray<readonly [number, number]>) =>
        [...new Set(xs.map(([c, v]) => `vCPU ${c} vector 0x${v.toString(16)}`))].sort();
      checkEqual(norm(got), norm(expected), `deliveries (${what})`);
    },
  };
}
