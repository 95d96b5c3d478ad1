/**
 * The MSI register facts against the installed Linux header (<linux/pci_regs.h>, `PCI_MSI_*` and
 * `PCI_CAP_ID_MSI`), read as text: plain `#define NAME value` lines. Without the header (no Linux
 * kernel headers installed) the comparison is skipped with a warning saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  MSI_ADDRESS_HI,
  MSI_ADDRESS_LO,
  MSI_CAPABILITY_ID,
  MSI_CONTROL_64BIT,
  MSI_CONTROL_ENABLE,
  MSI_CONTROL_MME,
  MSI_CONTROL_MMC,
  MSI_CONTROL_PER_VECTOR_MASKING,
  checkMsiLayout,
} from '../src';

const HEADER = '/usr/include/linux/pci_regs.h';
const HAVE_HEADER = existsSync(HEADER);
if (!HAVE_HEADER) console.warn(`SKIPPED the pci_regs.h comparison: ${HEADER} is missing (install the Linux kernel headers, e.g. linux-libc-dev).`);

function defines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define\s+(PCI_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b/gm)) out.set(m[1]!, Number(m[2]!));
  return out;
}

(HAVE_HEADER ? it : it.skip)(`every MSI constant and register offset equals ${HEADER}`, () => {
  const d = defines();
  const l32 = checkMsiLayout('test', { vectors: 1, address64: false, perVectorMasking: true });
  const l64 = checkMsiLayout('test', { vectors: 1, address64: true, perVectorMasking: true });
  const ours: Record<string, number> = {
    PCI_CAP_ID_MSI: MSI_CAPABILITY_ID,
    PCI_MSI_FLAGS_ENABLE: MSI_CONTROL_ENABLE,
    PCI_MSI_FLAGS_QMASK: MSI_CONTROL_MMC,
    PCI_MSI_FLAGS_QSIZE: MSI_CONTROL_MME,
    PCI_MSI_FLAGS_64BIT: MSI_CONTROL_64BIT,
    PCI_MSI_FLAGS_MASKBIT: MSI_CONTROL_PER_VECTOR_MASKING,
    PCI_MSI_ADDRESS_LO: MSI_ADDRESS_LO,
    PCI_MSI_ADDRESS_HI: MSI_ADDRESS_HI,
    PCI_MSI_DATA_32: l32.dataOffset,
    PCI_MSI_MASK_32: l32.maskOffset,
    PCI_MSI_PENDING_32: l32.pendingOffset,
    PCI_MSI_DATA_64: l64.dataOffset,
    PCI_MSI_MASK_64: l64.maskOffset,
    PCI_MSI_PENDING_64: l64.pendingOffset,
  };
  const theirs = Object.fromEntries(Object.keys(ours).map((name) => [name, d.get(name)]));
  expect(theirs).toEqual(ours);
});
