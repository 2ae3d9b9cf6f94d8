import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * AES-256-GCM payload codec: every workflow and activity payload (inputs, results, heartbeats,
 * signals, updates, queries) is encrypted before it reaches the Temporal server, so its database and
 * histories hold ciphertext only. Workers and clients share the keys; the server never sees them.
 *
 * Keys come from SLIPWAY_PAYLOAD_KEYS as `id:base64key[,id:base64key...]`: the first encrypts, all
 * of them decrypt. Each payload records the id of its key, so rotation is: add the new key first
 * (every worker and client), keep the old one listed until no open workflow or retained history
 * needs it (the namespace's retention period after the last workflow that used it closed), then
 * drop it.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

/** Parses `id:base64key,...`; every key must be 32 bytes (AES-256). */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const colon = part.indexOf(':');
      const id = colon > 0 ? part.slice(0, colon) : '';
      const key = Buffer.from(colon > 0 ? part.slice(colon + 1) : '', 'base64');
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || key.length !== 32) {
        throw new PayloadKeyError(
          'SLIPWAY_PAYLOAD_KEYS must be a comma-separated list of id:key, each key 32 random bytes in base64 ' +
            '(for example `k2026:$(openssl rand -base64 32)`); the first key encrypts, all decrypt.',
        );
      }
      return { id, key };
    });
  if (keys.length === 0) throw new PayloadKeyError('SLIPWAY_PAYLOAD_KEYS is set but lists no key.');
  return keys;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: PayloadKey[]) {
    if (keys.length === 0) throw new PayloadKeyError('an encryption codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0] as PayloadKey;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID]: Buffer.from(id),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.byId.get(id);
      if (!key) {
        throw new PayloadKeyError(
          `A payload is encrypted with key "${id}", which is not in SLIPWAY_PAYLOAD_KEYS: add it back (ids known: ` +
            `${[...this.byId.keys()].join(', ')}).`,
        );
      }
      const data = Buffer.from(payload.data ?? []);
      const iv = data.subarray(0, IV_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The data converter for workers and clients: encrypted when keys are configured, default otherwise. */
export function dataConverterFor(payloadKeys: string | undefined) {
  return payloadKeys ? { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(payloadKeys))] } : undefined;
}
