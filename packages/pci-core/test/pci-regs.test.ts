/**
 * The MSI and MSI-X register facts against the installed Linux header (<linux/pci_regs.h>,
 * `PCI_CAP_ID_MSI*`, `PCI_MSI_*`, `PCI_MSIX_*`), read as text: plain `#define NAME value` lines.
 * Without the header (no Linux kernel headers installed) the comparison is skipped with a warning
 * saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as pciCore from '../src';

const HEADER = '/usr/include/linux/pci_regs.h';
const HAVE_HEADER = existsSync(HEADER);
if (!HAVE_HEADER) console.warn(`SKIPPED the pci_regs.h comparison: ${HEADER} is missing (install the Linux kernel headers, e.g. linux-libc-dev).`);

/** The names of the entry point's numeric exports. */
type NumericExport = { [K in keyof typeof pciCore]: (typeof pciCore)[K] extends number ? K : never }[keyof typeof pciCore];

/** Each exported constant under the header's name for the same fact. */
const EXPORTED_AS: Readonly<Record<string, NumericExport>> = {
  PCI_CAP_ID_MSI: 'MSI_CAPABILITY_ID',
  PCI_MSI_FLAGS_ENABLE: 'MSI_CONTROL_ENABLE',
  PCI_MSI_FLAGS_QMASK: 'MSI_CONTROL_MMC',
  PCI_MSI_FLAGS_QSIZE: 'MSI_CONTROL_MME',
  PCI_MSI_FLAGS_64BIT: 'MSI_CONTROL_64BIT',
  PCI_MSI_FLAGS_MASKBIT: 'MSI_CONTROL_PER_VECTOR_MASKING',
  PCI_MSI_ADDRESS_LO: 'MSI_ADDRESS_LO',
  PCI_MSI_ADDRESS_HI: 'MSI_ADDRESS_HI',
  PCI_CAP_ID_MSIX: 'MSIX_CAPABILITY_ID',
  PCI_CAP_MSIX_SIZEOF: 'MSIX_CAPABILITY_SIZE',
  PCI_MSIX_FLAGS_ENABLE: 'MSIX_CONTROL_ENABLE',
  PCI_MSIX_FLAGS_MASKALL: 'MSIX_CONTROL_FUNCTION_MASK',
  PCI_MSIX_ENTRY_SIZE: 'MSIX_ENTRY_SIZE',
  PCI_MSIX_ENTRY_LOWER_ADDR: 'MSIX_ENTRY_ADDRESS_LO',
  PCI_MSIX_ENTRY_UPPER_ADDR: 'MSIX_ENTRY_ADDRESS_HI',
  PCI_MSIX_ENTRY_DATA: 'MSIX_ENTRY_DATA',
  PCI_MSIX_ENTRY_VECTOR_CTRL: 'MSIX_ENTRY_VECTOR_CONTROL',
  PCI_MSIX_ENTRY_CTRL_MASKBIT: 'MSIX_VECTOR_MASKED',
};

function defines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define\s+(PCI_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b/gm)) out.set(m[1]!, Number(m[2]!));
  return out;
}

(HAVE_HEADER ? it : it.skip)(`every MSI and MSI-X constant and register offset equals ${HEADER}`, () => {
  const d = defines();
  const l32 = pciCore.checkMsiLayout('test', { vectors: 1, address64: false, perVectorMasking: true });
  const l64 = pciCore.checkMsiLayout('test', { vectors: 1, address64: true, perVectorMasking: true });
  const ours: Record<string, number> = {
    ...Object.fromEntries(Object.entries(EXPORTED_AS).map(([linux, name]) => [linux, pciCore[name]])),
    PCI_MSI_DATA_32: l32.dataOffset,
    PCI_MSI_MASK_32: l32.maskOffset,
    PCI_MSI_PENDING_32: l32.pendingOffset,
    PCI_MSI_DATA_64: l64.dataOffset,
    PCI_MSI_MASK_64: l64.maskOffset,
    PCI_MSI_PENDING_64: l64.pendingOffset,
    // Table Size holds vectors - 1 in the field PCI_MSIX_FLAGS_QSIZE masks.
    PCI_MSIX_FLAGS_QSIZE: pciCore.MSIX_MAX_VECTORS - 1,
  };
  const theirs = Object.fromEntries(Object.keys(ours).map((name) => [name, d.get(name)]));
  expect(theirs).toEqual(ours);
});
