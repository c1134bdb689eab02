import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUserModule, moduleCacheDir } from './module-loader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-module-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('moduleCacheDir', () => {
  it('is INFRA_MODULE_CACHE, else under XDG_CACHE_HOME, made private; off keeps none', async () => {
    const configured = join(dir, 'configured');
    expect(moduleCacheDir({ INFRA_MODULE_CACHE: configured })).toBe(configured);
    expect((await stat(configured)).mode & 0o777).toBe(0o700);
    expect(moduleCacheDir({ XDG_CACHE_HOME: join(dir, 'xdg') })).toBe(
      join(dir, 'xdg', 'infra', 'modules'),
    );
    expect(moduleCacheDir({ INFRA_MODULE_CACHE: 'off' })).toBe(false);
  });

  it('is false when the folder cannot be made', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    expect(moduleCacheDir({ INFRA_MODULE_CACHE: join(file, 'below') })).toBe(false);
  });
});

describe('importUserModule', () => {
  it('keeps a transpiled TypeScript file in the cache and reads it back while unchanged', async () => {
    const cache = join(dir, 'cache');
    const file = join(dir, 'answer.ts');
    await writeFile(file, 'const answer: number = 42;\nexport default answer;\n');
    const previous = process.env.INFRA_MODULE_CACHE;
    process.env.INFRA_MODULE_CACHE = cache;
    try {
      expect((await importUserModule(file)).default).toBe(42);
      const kept = await readdir(cache);
      expect(kept).toHaveLength(1);
      expect((await importUserModule(file)).default).toBe(42);
      await writeFile(file, 'const answer: number = 43;\nexport default answer;\n');
      expect((await importUserModule(file)).default).toBe(43);
    } finally {
      if (previous === undefined) delete process.env.INFRA_MODULE_CACHE;
      else process.env.INFRA_MODULE_CACHE = previous;
    }
  });
});
