/**
 * Honest probes for the backends tsvmm has no package for yet (mshv, whp): they say whether the
 * hypervisor is there and why not, and that this release cannot drive it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendProbe } from '@tsvmm/virt';

export interface ProbeHost {
  readonly platform: NodeJS.Platform;
  /** Opens a path read-write and closes it; throws the fs error (with `code`). */
  openReadWrite(file: string): void;
  exists(file: string): boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const realProbeHost: ProbeHost = {
  platform: process.platform,
  openReadWrite(file) {
    // Node opens with O_CLOEXEC; the fd is closed before anything else can run.
    fs.closeSync(fs.openSync(file, fs.constants.O_RDWR));
  },
  exists: (file) => fs.existsSync(file),
  env: process.env,
};

const NO_MSHV_BACKEND = 'tsvmm has no mshv backend in this release, so it cannot be used yet.';

export function probeMshv(host: ProbeHost = realProbeHost): BackendProbe {
  if (host.platform !== 'linux') {
    return { backend: 'mshv', available: false, reason: `Not Linux (this host runs ${host.platform}): /dev/mshv is a Linux root-partition driver.` };
  }
  const node = '/dev/mshv';
  if (!host.exists(node)) {
    return {
      backend: 'mshv',
      available: false,
      reason: `Device node ${node} is missing: this Linux is not a Microsoft Hypervisor root partition with the mshv_root driver loaded.`,
    };
  }
  try {
    host.openReadWrite(node);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EACCES' || code === 'EPERM') {
      return { backend: 'mshv', available: false, reason: `Permission denied opening ${node} (${code}): run as root or get access to the device. ${NO_MSHV_BACKEND}` };
    }
    return { backend: 'mshv', available: false, reason: `${node} exists but could not be opened (${code}). ${NO_MSHV_BACKEND}` };
  }
  return { backend: 'mshv', available: false, reason: `${node} exists and opens read-write, but ${NO_MSHV_BACKEND}` };
}

export function probeWhp(host: ProbeHost = realProbeHost): BackendProbe {
  if (host.platform !== 'win32') {
    return { backend: 'whp', available: false, reason: `Not Windows (this host runs ${host.platform}): the Windows Hypervisor Platform exists only on Windows.` };
  }
  const root = host.env.SystemRoot ?? host.env.windir ?? 'C:\\Windows';
  const dll = path.win32.join(root, 'System32', 'WinHvPlatform.dll');
  if (!host.exists(dll)) {
    return {
      backend: 'whp',
      available: false,
      reason: `${dll} is missing: enable the "Windows Hypervisor Platform" optional feature.`,
    };
  }
  return {
    backend: 'whp',
    available: false,
    reason: `${dll} is present, but tsvmm has no WHP backend in this release, so it cannot be used yet.`,
  };
}
