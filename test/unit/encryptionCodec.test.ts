import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EncryptionCodec, parsePayloadKeys } from '../../worker/encryptionCodec';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('EncryptionCodec (AES-256-GCM payloads)', () => {
  const payload = defaultPayloadConverter.toPayload({ source: 's3://bucket/secret.csv', n: 1 });

  it('round-trips, and the ciphertext holds no plaintext', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(key('a')));
    const [sealed] = await codec.encode([payload]);
    expect(Buffer.from(sealed?.data ?? []).toString('latin1')).not.toContain('secret.csv');
    const [opened] = await codec.decode([sealed as typeof payload]);
    expect(defaultPayloadConverter.fromPayload(opened as typeof payload)).toEqual({
      source: 's3://bucket/secret.csv',
      n: 1,
    });
  });

  it('decrypts with an older key during rotation, encrypts with the first', async () => {
    const old = key('old');
    const fresh = key('new');
    const [sealedOld] = await new EncryptionCodec(parsePayloadKeys(old)).encode([payload]);
    const rotated = new EncryptionCodec(parsePayloadKeys(`${fresh},${old}`));
    expect(
      defaultPayloadConverter.fromPayload(
        (await rotated.decode([sealedOld as typeof payload]))[0] as typeof payload,
      ),
    ).toEqual({
      source: 's3://bucket/secret.csv',
      n: 1,
    });
    const [sealedNew] = await rotated.encode([payload]);
    expect(Buffer.from(sealedNew?.metadata?.['encryption-key-id'] ?? []).toString()).toBe('new');
  });

  it('refuses a payload whose key was dropped, naming the key', async () => {
    const [sealed] = await new EncryptionCodec(parsePayloadKeys(key('gone'))).encode([payload]);
    const other = new EncryptionCodec(parsePayloadKeys(key('other')));
    await expect(other.decode([sealed as typeof payload])).rejects.toThrow(
      /key "gone", which is not in SLIPWAY_PAYLOAD_KEYS/,
    );
  });

  it('detects a changed ciphertext byte (GCM tag)', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(key('a')));
    const [sealed] = await codec.encode([payload]);
    const data = Buffer.from(sealed?.data ?? []);
    data[20] = (data[20] as number) ^ 1;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow();
  });

  it('rejects malformed key lists with how to make one', () => {
    expect(() => parsePayloadKeys('nocolon')).toThrow(/openssl rand -base64 32/);
    expect(() => parsePayloadKeys(`k:${randomBytes(16).toString('base64')}`)).toThrow(/32 random bytes/);
  });
});
