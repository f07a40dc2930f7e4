import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Marks the format, so that a later change of algorithm can still read what is stored. */
const VERSION = 'v1';

/**
 * Seals target secrets before they go into the state topic, where anyone who can read the topic
 * could otherwise read them. Unlike API keys they cannot be hashed: the gateway must present them
 * to the target. AES-256-GCM with a random IV per seal; the tag makes a tampered or foreign
 * sealed value fail to open instead of opening to garbage.
 */
export class SecretBox {
  private readonly key: Buffer;

  /** `key`: 32 bytes, base64 (e.g. `openssl rand -base64 32`). */
  constructor(key: string) {
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length !== 32)
      throw new Error(`subscriptions.secretsKey: 32 bytes in base64 are needed, this is ${bytes.length}`);
    this.key = bytes;
  }

  seal(value: unknown): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  /** Throws when the value was sealed with another key, or changed since. */
  open(sealed: string): unknown {
    const [version, payload] = sealed.split('.', 2);
    if (version !== VERSION || payload === undefined)
      throw new Error('not a sealed value this gateway can read');
    const bytes = Buffer.from(payload, 'base64');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('the sealed value is truncated');
    const decipher = createDecipheriv(ALGORITHM, this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(text.toString('utf8'));
  }
}
