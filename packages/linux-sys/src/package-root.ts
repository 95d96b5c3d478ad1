import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The root folder of the package named `name`, found by walking up from `from`. Worker threads
 * cannot load TypeScript, so code that starts a worker resolves its script in the package's built
 * `dist` this way, whether it runs from `dist` or from `src` under ts-jest.
 */
export function packageRoot(from: string, name: string): string {
  for (let dir = from; ; ) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === name) return dir;
      } catch {
        // an unreadable manifest is not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the root of package ${name} above ${from}`);
    dir = up;
  }
}

/** `<root of name>/dist/<relative>`, checked to exist (build the package first). */
export function builtFile(from: string, name: string, relative: string): string {
  const file = join(packageRoot(from, name), 'dist', relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: build ${name} first (npm run build in its folder)`);
  return file;
}
