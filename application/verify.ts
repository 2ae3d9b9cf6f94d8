import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { TypedError } from '../domain/errors';
import { readVersionSignature, verifyStoredVersion } from '../domain/registry/versionSignature';
import { SigningError } from '../domain/signing/errors';
import { installationPublicKey } from '../domain/signing/installationKey';
import { keyFingerprint, parsePublicKey } from '../domain/signing/keys';
import {
  compareModelFiles,
  IGNORED_PATHS,
  type ModelFile,
  parseModelSignature,
  SIGNATURE_FILE,
  verifyModelSignature,
} from '../domain/signing/modelSignature';
import { resolveModelRef } from './models';
import type { Workspace } from './workspace';

export interface VerifyReport {
  ok: boolean;
  /** What was verified: a folder, a file, or `<model>@<version>`. */
  target: string;
  signature: string;
  /** The signing key's fingerprint. */
  signer: string;
  files: ModelFile[];
  /** What differs, in words; empty when everything matches. */
  problems: string[];
}

/**
 * `slipway verify`: a model folder (as `export mltk` writes it, or any folder the OpenSSF tool
 * signed), one file of it, or a registered version (`<model>@<version|alias>`, re-read from the
 * store) against its signature. The signature must verify with a trusted key: `publicKey` (a file),
 * else the installation's own. A signature that does not verify, or a key not trusted, throws; files
 * that differ from what was signed are reported (`ok` false).
 */
export async function verifyModel(
  ws: Workspace,
  target: string,
  options: { signature?: string; publicKey?: string } = {},
): Promise<VerifyReport> {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined && !target.includes('@')) {
    throw new TypedError(
      'VerifyTargetNotFound',
      `${target}: no such file or folder. Give a model folder, a file of one, or <model>@<version>.`,
    );
  }
  const keys = await trustedKeys(ws, options.publicKey);
  if (info === undefined) {
    const { name, version } = await resolveModelRef(ws, target);
    const metadata = await ws.registry.getVersion(name, version);
    const stored = await readVersionSignature(ws.store, name, version);
    if (!stored) {
      throw new SigningError(
        'SignatureRequired',
        `${name}@${version} has no signature: it was registered before Slipway signed versions.`,
      );
    }
    const checked = await verifyStoredVersion(ws.store, metadata, stored.bundle, keys);
    return report(`${name}@${version}`, 'the registry', checked.key, checked.files, checked.problems);
  }
  const folder = info.isDirectory() ? target : dirname(target);
  const signaturePath = options.signature ?? join(folder, SIGNATURE_FILE);
  const text = await readFile(signaturePath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new SigningError(
      'SignatureRequired',
      `${signaturePath}: cannot read the signature (${err.code ?? err.message}); give it with --signature <file>.`,
    );
  });
  const { statement, key } = verifyModelSignature(
    parseModelSignature(text, signaturePath),
    keys,
    signaturePath,
  );
  const files = info.isDirectory()
    ? await folderFiles(target, signaturePath)
    : [{ name: basename(target), sha256: await fileSha256(target) }];
  const problems = compareModelFiles(statement, files, { wholeFolder: info.isDirectory() });
  return report(target, signaturePath, key, files, problems);
}

function report(target: string, signature: string, key: KeyObject, files: ModelFile[], problems: string[]) {
  return { ok: problems.length === 0, target, signature, signer: keyFingerprint(key), files, problems };
}

/** The public key given, else the installation's (beside its private key, outside the store). */
async function trustedKeys(ws: Workspace, publicKeyFile: string | undefined): Promise<KeyObject[]> {
  if (publicKeyFile !== undefined) {
    const text = await readFile(publicKeyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new SigningError(
        'InvalidKey',
        `--public-key ${publicKeyFile}: cannot read it (${err.code ?? err.message}).`,
      );
    });
    return [parsePublicKey(text, `--public-key ${publicKeyFile}`)];
  }
  const own = await installationPublicKey(ws.config.modelSigningKeyPath);
  if (own) return [own];
  throw new SigningError(
    'InvalidKey',
    `No public key to verify with: this installation has no signing key at ${ws.config.modelSigningKeyPath} ` +
      "(SLIPWAY_MODEL_SIGNING_KEY). Give the signer's public key with --public-key <file>.",
  );
}

/** Every file under `dir` as the OpenSSF tool serialises it: relative POSIX names, ignored paths and the signature left out. */
async function folderFiles(dir: string, signaturePath: string): Promise<ModelFile[]> {
  const files: ModelFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).split(sep).join('/');
    if (IGNORED_PATHS.some((ignored) => name === ignored || name.startsWith(`${ignored}/`))) continue;
    if (path === signaturePath || relative(signaturePath, path) === '') continue;
    files.push({ name, sha256: await fileSha256(path) });
  }
  return files;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
