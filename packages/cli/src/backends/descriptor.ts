/** The registry's types are the contract's: every backend package exports a descriptor of this shape. */
export type { BackendDescriptor, BackendOpenOptions, BackendProbe as CodedBackendProbe, BackendProbeCode } from '@tsvmm/virt';
