import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareLocalPut } from './local-files.js';

const dir = await mkdtemp(join(tmpdir(), 'local-files-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('prepareLocalPut', () => {
  it('says the directory is missing, and how to have it made', async () => {
    await expect(prepareLocalPut(join(dir, 'no', 'f'), false, 'putFile x')).rejects.toThrow(
      /the directory ".*\/no" does not exist. Create it first, or pass createParents: true/,
    );
    expect(await prepareLocalPut(join(dir, 'no', 'f'), true, 'putFile x')).toBe(false);
    expect(await prepareLocalPut(join(dir, 'f'), false, 'putFile x')).toBe(true);
  });

  it('names a parent that is not a directory', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    await expect(prepareLocalPut(join(dir, 'plain', 'f'), false, 'putFile x')).rejects.toThrow(
      /is not a directory, so "f" cannot be created in it/,
    );
  });
});
