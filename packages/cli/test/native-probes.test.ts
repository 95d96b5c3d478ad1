import { probeMshv, probeWhp, type ProbeHost } from '../src/backends/placeholders';

function host(over: Partial<ProbeHost>): ProbeHost {
  return { platform: 'linux', openReadWrite: () => {}, exists: () => false, env: {}, ...over };
}

describe('mshv probe', () => {
  it('says the device node is missing', () => {
    const p = probeMshv(host({}));
    expect(p).toMatchObject({ backend: 'mshv', available: false });
    expect(p.reason).toMatch(/\/dev\/mshv is missing/);
  });
  it('says permission is missing when open fails with EACCES', () => {
    const p = probeMshv(
      host({
        exists: () => true,
        openReadWrite: () => {
          throw Object.assign(new Error('denied'), { code: 'EACCES' });
        },
      }),
    );
    expect(p.available).toBe(false);
    expect(p.reason).toMatch(/Permission denied/);
  });
  it('is honest when the device opens but there is no backend', () => {
    const p = probeMshv(host({ exists: () => true }));
    expect(p.available).toBe(false);
    expect(p.reason).toMatch(/opens read-write, but tsvmm has no mshv backend/);
  });
  it('is not Linux elsewhere', () => {
    expect(probeMshv(host({ platform: 'win32' })).reason).toMatch(/Not Linux/);
  });
});

describe('whp probe', () => {
  it('is unavailable outside Windows, saying so', () => {
    const p = probeWhp(host({ platform: 'linux' }));
    expect(p).toMatchObject({ backend: 'whp', available: false });
    expect(p.reason).toMatch(/Not Windows/);
  });
  it('names the missing DLL on Windows without the feature', () => {
    const p = probeWhp(host({ platform: 'win32', env: { SystemRoot: 'C:\\Windows' } }));
    expect(p.reason).toMatch(/WinHvPlatform\.dll is missing/);
  });
  it('is honest when the DLL exists but there is no backend', () => {
    const p = probeWhp(host({ platform: 'win32', exists: () => true }));
    expect(p.available).toBe(false);
    expect(p.reason).toMatch(/no WHP backend/);
  });
});
