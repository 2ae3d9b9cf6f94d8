import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SigningError } from './errors';

/**
 * The installation's model-signing key: ECDSA P-256 (the curve the OpenSSF model-signing tool
 * verifies), kept as a PEM file readable by its owner alone, outside the artifact store, and made
 * once: the first signer creates it exclusively, and a concurrent one reads the winner's. Its public
 * half sits beside it as `<file>.pub`, for whoever verifies (`model_signing verify key ... --public_key`).
 */
export async function installationSigningKey(path: string): Promise<KeyObject> {
  const existing = await readKey(path);
  if (existing) return existing;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readKey(path)) as KeyObject; // another worker made it first
  }
  await writeFile(`${path}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return privateKey;
}

/** The installation's public key, if its key file (or the `.pub` beside it) is here. */
export async function installationPublicKey(path: string): Promise<KeyObject | undefined> {
  const pub = await readFile(`${path}.pub`, 'utf8').catch(() => undefined);
  if (pub) return createPublicKey(pub);
  const key = await readKey(path);
  return key ? createPublicKey(key) : undefined;
}

async function readKey(path: string): Promise<KeyObject | undefined> {
  const pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (pem === undefined) return undefined;
  try {
    return createPrivateKey(pem);
  } catch (error) {
    // The message names the file only: never any of its contents.
    throw new SigningError('InvalidKey', `${path}: not a PEM private key (${(error as Error).message}).`);
  }
}
