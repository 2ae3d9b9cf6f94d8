import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SigningError } from './errors';

/**
 * Public and private keys as people hold them: Ed25519 as an OpenSSH line (`ssh-ed25519 AAAA...
 * comment`, what `ssh-keygen -t ed25519` writes to id_ed25519.pub) or PEM; private keys as PEM
 * (PKCS#8, `openssl genpkey -algorithm ed25519`) or an unencrypted OpenSSH private key file. ECDSA
 * keys (P-256/384/521, PEM) are read too: the OpenSSF model-signing tool signs with those.
 */

const SSH_ED25519 = 'ssh-ed25519';

/** A public key from its text: an OpenSSH line or PEM (SPKI). `where` names the file or field in errors. */
export function parsePublicKey(text: string, where: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith(`${SSH_ED25519} `)) return sshEd25519PublicKey(trimmed, where);
  if (trimmed.startsWith('ssh-') || trimmed.startsWith('ecdsa-sha2-')) {
    throw new SigningError(
      'InvalidKey',
      `${where}: ${trimmed.split(' ')[0]} keys are not supported; use an Ed25519 key (ssh-keygen -t ed25519).`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(trimmed);
  } catch (error) {
    throw new SigningError(
      'InvalidKey',
      `${where}: not a public key (${(error as Error).message}); give an OpenSSH "ssh-ed25519 AAAA..." line or a PEM public key.`,
    );
  }
  assertUsable(key, where);
  return key;
}

/** A private key from a file's bytes: PEM (PKCS#8 or SEC1) or an unencrypted OpenSSH Ed25519 key. */
export function parsePrivateKey(bytes: Buffer, where: string): KeyObject {
  const text = bytes.toString('utf8').trim();
  if (text.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')) return openSshPrivateKey(text, where);
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    const encrypted = /ENCRYPTED|passphrase/i.test(`${text.slice(0, 64)} ${(error as Error).message}`);
    throw new SigningError(
      'InvalidKey',
      encrypted
        ? `${where}: the private key is encrypted; Slipway reads unencrypted key files only (keep the file readable by you alone).`
        : `${where}: not a private key (${(error as Error).message}); give a PEM or OpenSSH Ed25519 private key file.`,
    );
  }
  assertUsable(createPublicKey(key), where);
  return key;
}

/** The OpenSSH line of an Ed25519 public key, without comment: the form policies store. */
export function openSshPublicKey(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SigningError('InvalidKey', 'only Ed25519 keys have an OpenSSH form here');
  return `${SSH_ED25519} ${sshBlob(key).toString('base64')}`;
}

/**
 * How people compare keys: `SHA256:<base64>` of the OpenSSH key blob for Ed25519 (what
 * `ssh-keygen -lf key.pub` prints), `SHA256:<hex>` of the PEM for others.
 */
export function keyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType === 'ed25519') {
    return `SHA256:${createHash('sha256').update(sshBlob(publicKey)).digest('base64').replace(/=+$/, '')}`;
  }
  return `SHA256:${pemHint(publicKey)}`;
}

/**
 * The fingerprint of a key stored as text (a policy's approver or trusted signer), for display:
 * a stored text that is not a key shows as such instead of failing the page that lists it.
 */
export function storedKeyFingerprint(text: string): string {
  try {
    return keyFingerprint(parsePublicKey(text, 'the policy'));
  } catch {
    return '(not a key)';
  }
}

/** sha256 (hex) of the SPKI PEM: the key hint the OpenSSF model-signing bundle carries. */
export function pemHint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'pem' }).toString())
    .digest('hex');
}

/** The text a policy keeps for a public key: the OpenSSH line for Ed25519, the PEM for ECDSA. */
export function publicKeyText(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.asymmetricKeyType === 'ed25519'
    ? openSshPublicKey(publicKey)
    : publicKey.export({ type: 'spki', format: 'pem' }).toString().trim();
}

function assertUsable(key: KeyObject, where: string): void {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1') return;
  }
  throw new SigningError(
    'InvalidKey',
    `${where}: a ${type} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''} ` +
      'cannot be used; use Ed25519 (or ECDSA P-256/384/521 for model signatures).',
  );
}

function sshBlob(key: KeyObject): Buffer {
  const raw = Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
  return Buffer.concat([sshString(Buffer.from(SSH_ED25519)), sshString(raw)]);
}

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function sshEd25519PublicKey(line: string, where: string): KeyObject {
  const blob = Buffer.from(line.split(/\s+/)[1] ?? '', 'base64');
  const reader = new SshReader(blob, where);
  if (reader.string().toString() !== SSH_ED25519) throw reader.bad('the key blob is not ssh-ed25519');
  return ed25519FromRaw(reader.string(), undefined, where);
}

/** A raw 32-byte Ed25519 public key (and seed, for a private key) as node:crypto's KeyObject, through JWK. */
function ed25519FromRaw(publicRaw: Buffer, seed: Buffer | undefined, where: string): KeyObject {
  if (publicRaw.length !== 32 || (seed !== undefined && seed.length !== 32)) {
    throw new SigningError('InvalidKey', `${where}: an Ed25519 key is 32 bytes, this one is not`);
  }
  const jwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: publicRaw.toString('base64url'),
    ...(seed ? { d: seed.toString('base64url') } : {}),
  };
  return seed ? createPrivateKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: jwk, format: 'jwk' });
}

/** The openssh-key-v1 format (PROTOCOL.key): only unencrypted Ed25519 keys are taken. */
function openSshPrivateKey(text: string, where: string): KeyObject {
  const body = text.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const bytes = Buffer.from(body, 'base64');
  const magic = Buffer.from('openssh-key-v1\0');
  const reader = new SshReader(bytes.subarray(magic.length), where);
  if (!bytes.subarray(0, magic.length).equals(magic)) throw reader.bad('it is not an openssh-key-v1 file');
  const cipher = reader.string().toString();
  reader.string(); // kdf name
  reader.string(); // kdf options
  if (cipher !== 'none') {
    throw new SigningError(
      'InvalidKey',
      `${where}: the OpenSSH private key is encrypted (${cipher}); Slipway reads unencrypted key files only. ` +
        'Make a copy without a passphrase (ssh-keygen -p -N "" -f <copy>) kept readable by you alone.',
    );
  }
  if (reader.uint32() !== 1) throw reader.bad('it holds more than one key');
  reader.string(); // public key blob
  const secret = new SshReader(reader.string(), where);
  const check = secret.uint32();
  if (check !== secret.uint32()) throw reader.bad('its check numbers differ (damaged file)');
  const type = secret.string().toString();
  if (type !== SSH_ED25519) {
    throw new SigningError(
      'InvalidKey',
      `${where}: a ${type} key; Slipway signs decisions with Ed25519 keys only.`,
    );
  }
  const publicRaw = secret.string();
  const privateRaw = secret.string(); // seed (32) followed by the public key (32)
  return ed25519FromRaw(publicRaw, privateRaw.subarray(0, 32), where);
}

class SshReader {
  private offset = 0;
  constructor(
    private readonly bytes: Buffer,
    private readonly where: string,
  ) {}
  uint32(): number {
    if (this.offset + 4 > this.bytes.length) throw this.bad('it ends too early');
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  string(): Buffer {
    const length = this.uint32();
    if (this.offset + length > this.bytes.length) throw this.bad('it ends too early');
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  bad(why: string): SigningError {
    return new SigningError('InvalidKey', `${this.where}: not a usable OpenSSH key: ${why}.`);
  }
}
