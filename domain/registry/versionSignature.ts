import type { KeyObject } from 'node:crypto';
import { renderMltkPackage } from '../mltk/mltkPackage';
import {
  compareModelFiles,
  type ModelFile,
  type ModelSignatureBundle,
  type ModelStatement,
  modelStatement,
  parseModelSignature,
  signModelStatement,
  verifyModelSignature,
} from '../signing/modelSignature';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256Hex } from '../storage/hashing';
import { signatureKey } from './layout';
import type { ModelVersionMetadata } from './metadata';

/** The model card's name in a signed package. */
export const MODEL_CARD_FILE = 'MODEL_CARD.md';

/**
 * The files a version's signature covers, as `slipway export mltk` writes them: the ONNX file, the
 * .mlmodel lookup and UPLOAD.txt (the default package: algorithm "onnx", the default platform name)
 * and the model card. A version the platform cannot take (a name it refuses) is signed as
 * `<model>.onnx` and the card.
 */
export function signedPackageFiles(
  metadata: ModelVersionMetadata,
  onnx: Buffer,
  card: Buffer,
): { packageName: string; files: Array<{ name: string; bytes: Buffer }> } {
  const cardFile = { name: MODEL_CARD_FILE, bytes: card };
  try {
    const rendered = renderMltkPackage({
      modelName: metadata.name,
      onnx,
      features: metadata.features,
      target: metadata.target,
      sizeLimitBytes: metadata.onnx.size.limit,
    });
    return {
      packageName: rendered.platformModelName,
      files: [
        { name: rendered.files.onnx, bytes: rendered.contents.onnx },
        { name: rendered.files.mlmodel, bytes: Buffer.from(rendered.contents.mlmodel) },
        { name: rendered.files.uploadNotes, bytes: Buffer.from(rendered.contents.uploadNotes) },
        cardFile,
      ],
    };
  } catch {
    const model = metadata.name.slice(metadata.name.lastIndexOf('/') + 1);
    return { packageName: model, files: [{ name: `${model}.onnx`, bytes: onnx }, cardFile] };
  }
}

async function packageDigests(store: ArtifactStore, metadata: ModelVersionMetadata) {
  const [onnx, card] = await Promise.all([
    store.getBytes(metadata.artifacts.onnx),
    store.getBytes(metadata.registration.modelCard),
  ]);
  const { packageName, files } = signedPackageFiles(metadata, onnx, card);
  return { packageName, files: files.map((f): ModelFile => ({ name: f.name, sha256: sha256Hex(f.bytes) })) };
}

/**
 * Signs a registered version with the installation's key, once: the bundle is created ifAbsent
 * beside the metadata, so a retried registration keeps the first signature. Returns where it is and
 * the sha256 of its bytes, which the registration's audit record keeps.
 */
export async function signVersion(
  store: ArtifactStore,
  metadata: ModelVersionMetadata,
  privateKey: KeyObject,
): Promise<{ key: string; sha256: string }> {
  const key = signatureKey(metadata.name, metadata.version);
  const { packageName, files } = await packageDigests(store, metadata);
  const bundle = `${JSON.stringify(signModelStatement(modelStatement(packageName, files), privateKey))}\n`;
  await store.putDocument(key, bundle, { ifAbsent: true, mediaType: 'application/json' });
  const stored = (await store.getDocument(key)) as Buffer;
  return { key, sha256: sha256Hex(stored) };
}

/** The version's signature bundle as stored, raw and parsed; undefined for a version registered unsigned. */
export async function readVersionSignature(
  store: ArtifactStore,
  name: string,
  version: number,
): Promise<{ text: string; bundle: ModelSignatureBundle } | undefined> {
  const key = signatureKey(name, version);
  const bytes = await store.getDocument(key);
  if (bytes === undefined) return undefined;
  const text = bytes.toString('utf8');
  return { text, bundle: parseModelSignature(text, key) };
}

/**
 * A stored version against its signature: the bundle verifies with one of `keys`, and the files it
 * lists are exactly the version's files as the store holds them now (re-read and re-hashed).
 */
export async function verifyStoredVersion(
  store: ArtifactStore,
  metadata: ModelVersionMetadata,
  bundle: ModelSignatureBundle,
  keys: readonly KeyObject[],
): Promise<{ statement: ModelStatement; key: KeyObject; files: ModelFile[]; problems: string[] }> {
  const where = signatureKey(metadata.name, metadata.version);
  const { statement, key } = verifyModelSignature(bundle, keys, where);
  const { files } = await packageDigests(store, metadata);
  return { statement, key, files, problems: compareModelFiles(statement, files, { wholeFolder: true }) };
}
