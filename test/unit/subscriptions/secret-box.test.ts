import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../src/subscriptions/secret-box';

const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
const AUTH = {
  oauth2: { tokenUrl: 'https://auth.example.com/token', clientId: 'c', clientSecret: 's3cr3t' },
};

/** `sealed` with one byte of its binary payload changed, so that the change is certain to reach the cipher. */
function flipByte(sealed: string, index: (length: number) => number): string {
  const [version, payload] = sealed.split('.');
  const bytes = Buffer.from(payload, 'base64');
  bytes[index(bytes.length)] ^= 0x01;
  return `${version}.${bytes.toString('base64')}`;
}

describe('SecretBox', () => {
  it('opens what it sealed', () => {
    const box = new SecretBox(KEY);
    expect(box.open(box.seal(AUTH))).toEqual(AUTH);
    expect(box.open(box.seal('plain text'))).toBe('plain text');
    expect(box.open(box.seal(null))).toBeNull();
    // Another box with the same key is another instance of the gateway: it opens the same values.
    expect(new SecretBox(KEY).open(box.seal(AUTH))).toEqual(AUTH);
  });

  it('opens any JSON value it sealed to the value as JSON has it (property)', () => {
    const box = new SecretBox(KEY);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(box.open(box.seal(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('does not show the secret in what it seals, and seals the same value differently each time', () => {
    const box = new SecretBox(KEY);
    const one = box.seal(AUTH);
    const two = box.seal(AUTH);
    expect(one).not.toBe(two);
    expect(one).toMatch(/^v1\.[A-Za-z0-9+/]+=*$/);
    expect(one).not.toContain('s3cr3t');
    expect(Buffer.from(one.slice(3), 'base64').toString('latin1')).not.toContain('s3cr3t');
    const many = new Set(Array.from({ length: 100 }, () => box.seal('same')));
    expect(many.size).toBe(100);
  });

  it('fails to open a value sealed with another key', () => {
    const sealed = new SecretBox(OTHER_KEY).seal(AUTH);
    expect(() => new SecretBox(KEY).open(sealed)).toThrow();
  });

  it('fails to open a value changed anywhere: IV, tag or ciphertext', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal(AUTH);
    const length = Buffer.from(sealed.slice(3), 'base64').length;
    for (let at = 0; at < length; at++) expect(() => box.open(flipByte(sealed, () => at))).toThrow();
  });

  it('fails to open a value cut short or grown, however little', () => {
    const box = new SecretBox(KEY);
    const bytes = Buffer.from(box.seal(AUTH).slice(3), 'base64');
    const rewrap = (changed: Buffer) => `v1.${changed.toString('base64')}`;
    expect(() => box.open(rewrap(bytes.subarray(0, bytes.length - 1)))).toThrow();
    expect(() => box.open(rewrap(Buffer.concat([bytes, Buffer.from([0])])))).toThrow();
    expect(() => box.open(rewrap(bytes.subarray(0, 27)))).toThrow('the sealed value is truncated');
    expect(() => box.open('v1.')).toThrow('the sealed value is truncated');
  });

  it('refuses what is not a sealed value of its version, saying so', () => {
    const box = new SecretBox(KEY);
    const sealed = box.seal(AUTH);
    for (const value of ['', 'v1', 'garbage', `v2${sealed.slice(2)}`, sealed.slice(3), JSON.stringify(AUTH)])
      expect(() => box.open(value)).toThrow('not a sealed value this gateway can read');
  });

  it('opens nothing it did not seal, whatever it is given (property)', () => {
    const box = new SecretBox(KEY);
    // Without its padding, every shorter prefix decodes to fewer bytes: none is the whole value.
    const unpadded = box.seal(AUTH).replace(/=+$/, '');
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.base64String().map((payload) => `v1.${payload}`),
      fc.nat({ max: unpadded.length - 1 }).map((cut) => unpadded.slice(0, cut)),
    );
    fc.assert(
      fc.property(text, (value) => {
        expect(() => box.open(value)).toThrow();
      }),
    );
  });

  it('refuses a key that is not 32 bytes, saying how many it is', () => {
    const refused = (key: string, bytes: number) =>
      expect(() => new SecretBox(key)).toThrow(
        `subscriptions.secretsKey: 32 bytes in base64 are needed, this is ${bytes}`,
      );
    refused('', 0);
    refused(randomBytes(16).toString('base64'), 16);
    refused(randomBytes(31).toString('base64'), 31);
    refused(randomBytes(33).toString('base64'), 33);
    // `openssl rand -hex 32` instead of -base64: 64 characters that read as 48 bytes of base64.
    refused(randomBytes(32).toString('hex'), 48);
    expect(() => new SecretBox(randomBytes(32).toString('base64url'))).not.toThrow();
  });
});
