// The README shows these examples: each block must be byte-identical to its file
// (scripts/check-readme-examples.mjs), and each file runs here in plain Node 20 in a child process,
// as a user's file would, against the built package.
import * as path from 'node:path';
import { readmeTests } from '../../../scripts/readme-examples.cjs';

readmeTests(path.resolve(__dirname, '..'), {
  shows: ['examples/model.js', 'examples/assign.js', 'examples/intx.js', 'examples/open.js'],
  prints: [
    {
      example: 'examples/model.js',
      lines: ['group flags: 1', 'MSI-X vectors: 4', 'SET_IRQS: 0', 'device raises vector 0: signalled', 'eventfd counter: 1n', 'hazards: []'],
    },
    {
      example: 'examples/open.js',
      lines: ['opened 0000:01:00.0: group 7, legacy path, 5 interrupt indexes', 'UNAVAILABLE: 0000:02:00.0 is bound to e1000e, not vfio-pci', 'open fds: 0 hazards: []'],
    },
    {
      example: 'examples/assign.js',
      lines: [
        'MSI-X: 8 vectors, table in BAR 2; BAR 2 mappable: [ { offset: 4096, size: 4096 }, { offset: 12288, size: 4096 } ]',
        'bound MSI-X vectors: [ 0 ]',
        'device raises vector 0: signalled',
        "vCPU 1 IRR: [ '0x45' ]",
        'hazards: [] []',
      ],
    },
    {
      example: 'examples/intx.js',
      lines: [
        'resample: true',
        'Interrupt Pin 1 (INTA), INTx irqfd on GSI 10',
        'device asserts: line 1, remote IRR 1, vCPU 0 IRR [0x61]',
        'EOI, device still asserting: line 1, remote IRR 1, vCPU 0 IRR [0x61]',
        'EOI after the driver cleared the cause: line 0, remote IRR 0, vCPU 0 IRR []',
        'hazards: []',
      ],
    },
  ],
});
