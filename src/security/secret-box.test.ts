import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-key-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 key once and round-trips secrets without showing them', async () => {
    const box = await SecretBox.open(dir);
    const st = await fs.stat(path.join(dir, 'secret.key'));
    expect(st.mode & 0o777).toBe(0o600);
    const sealed = box.seal({ password: 'hunter2' });
    expect(sealed).not.toContain('hunter2');
    expect(box.seal({ password: 'hunter2' })).not.toBe(sealed);
    const again = await SecretBox.open(dir);
    expect(again.open(sealed)).toEqual({ password: 'hunter2' });
  });

  it('gives processes that start at the same moment one key, and leaves no partial key file', async () => {
    const boxes = await Promise.all(Array.from({ length: 8 }, () => SecretBox.open(dir)));
    const sealed = boxes[0]?.seal({ token: 't' }) ?? '';
    for (const box of boxes) expect(box.open(sealed)).toEqual({ token: 't' });
    expect(await fs.readdir(dir)).toEqual(['secret.key']);
    expect(Buffer.from((await fs.readFile(path.join(dir, 'secret.key'), 'utf8')).trim(), 'base64')).toHaveLength(32);
  });

  it('refuses tampered ciphertext and a key readable by others', async () => {
    const box = await SecretBox.open(dir);
    const sealed = box.seal({ a: 'b' });
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3] ?? '', 'base64url');
    data[0] = (data[0] ?? 0) ^ 1;
    expect(() => box.open([parts[0], parts[1], parts[2], data.toString('base64url')].join('.'))).toThrow();
    await fs.chmod(path.join(dir, 'secret.key'), 0o644);
    await expect(SecretBox.open(dir)).rejects.toThrow(/readable by others/);
  });
});
