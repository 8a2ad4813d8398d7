// Secrets at rest: AES-256-GCM with a key generated on first start and kept
// beside the data (mode 0600). Ciphertext is `v1.<iv>.<tag>.<data>` in base64url.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Reads `<dir>/secret.key`, creating it (0600) if missing; refuses a key file others can read. */
  static async open(dir: string): Promise<SecretBox> {
    const file = path.join(dir, 'secret.key');
    try {
      const st = await fs.stat(file);
      if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
      const key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64');
      if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
      return new SecretBox(key);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // Written whole to a temp file, then linked into place: a crash mid-write
    // never leaves a short key behind, and a process starting at the same
    // moment either wins the link or reads the key that did.
    const key = randomBytes(KEY_BYTES);
    const tmp = `${file}.${String(process.pid)}-${randomBytes(6).toString("hex")}.tmp`;
    const fh = await fs.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(key.toString('base64') + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.link(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return SecretBox.open(dir);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return new SecretBox(key);
  }

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== KEY_BYTES) throw new Error(`key must be ${KEY_BYTES} bytes`);
    return new SecretBox(key);
  }

  seal(secrets: Readonly<Record<string, string>>): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(sealed: string): Record<string, string> {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  }
}
