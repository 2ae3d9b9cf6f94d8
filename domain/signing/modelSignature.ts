import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { SigningError } from './errors';
import { keyFingerprint, pemHint } from './keys';

/**
 * Model signatures in the OpenSSF model-signing format (the `model_signing` tool of
 * sigstore/model-transparency, v1.0 predicate), made with a local key: a Sigstore bundle (JSON,
 * media type v0.3) holding a DSSE envelope whose payload is an in-toto Statement v1 with
 * predicate type `https://model_signing/signature/v1.0`. The predicate lists every file of the
 * model folder (`resources`: name, sha256) and how they were serialised (`files`, sha256, no
 * symlinks, `model.sig` ignored); the subject's digest is the sha256 over the files' raw digests in
 * name order. The envelope is signed over DSSE's pre-authentication encoding with ECDSA (P-256 and
 * SHA-256, DER), and the bundle names the key by the sha256 of its PEM (`publicKey.hint`), which is
 * what `model_signing verify key <folder> --signature <folder>/model.sig --public_key key.pub`
 * checks. There is no transparency-log entry: a local key has none. Ed25519 bundles are read too
 * (a Slipway extension; the tool's key verifier takes ECDSA only).
 */
export const SIGNATURE_FILE = 'model.sig';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const MODEL_SIGNING_PREDICATE = 'https://model_signing/signature/v1.0';
/** What the tool ignores by default besides the signature: git's files. */
export const IGNORED_PATHS = [SIGNATURE_FILE, '.git', '.gitattributes', '.github', '.gitignore'];

export interface ModelFile {
  /** Path inside the model folder, POSIX separators. */
  name: string;
  sha256: string;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const statementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string(), digest: z.object({ sha256: sha256Hex }) })).length(1),
  predicateType: z.literal(MODEL_SIGNING_PREDICATE),
  predicate: z.object({
    serialization: z.object({
      method: z.literal('files'),
      hash_type: z.literal('sha256'),
      allow_symlinks: z.boolean(),
      ignore_paths: z.array(z.string()).optional(),
    }),
    resources: z.array(
      z.object({ name: z.string().min(1), algorithm: z.literal('sha256'), digest: sha256Hex }),
    ),
  }),
});
export type ModelStatement = z.infer<typeof statementSchema>;

const bundleSchema = z.object({
  mediaType: z.literal(BUNDLE_MEDIA_TYPE),
  verificationMaterial: z.object({
    publicKey: z.object({ hint: z.string().optional() }).optional(),
    tlogEntries: z.array(z.unknown()).optional(),
  }),
  dsseEnvelope: z.object({
    payload: z.string().min(1),
    payloadType: z.literal(IN_TOTO_PAYLOAD_TYPE),
    signatures: z.array(z.object({ sig: z.string().min(1), keyid: z.string().optional() })).min(1),
  }),
});
export type ModelSignatureBundle = z.infer<typeof bundleSchema>;

/** The in-toto statement over `files` of the model called `modelName`. */
export function modelStatement(modelName: string, files: readonly ModelFile[]): ModelStatement {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set(sorted.map((f) => f.name));
  if (names.size !== sorted.length)
    throw new SigningError('SignatureInvalid', 'a model file is listed twice');
  const root = createHash('sha256');
  for (const file of sorted) root.update(Buffer.from(file.sha256, 'hex'));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: root.digest('hex') } }],
    predicateType: MODEL_SIGNING_PREDICATE,
    predicate: {
      serialization: {
        method: 'files',
        hash_type: 'sha256',
        allow_symlinks: false,
        ignore_paths: IGNORED_PATHS,
      },
      resources: sorted.map((f) => ({ name: f.name, algorithm: 'sha256' as const, digest: f.sha256 })),
    },
  };
}

/** DSSE v1 pre-authentication encoding of an in-toto payload. */
function pae(payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${IN_TOTO_PAYLOAD_TYPE.length} ${IN_TOTO_PAYLOAD_TYPE} ${payload.length} `),
    payload,
  ]);
}

function digestFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
}

/** Signs the statement with a private key (ECDSA P-256 for the tool; Ed25519 also works here). */
export function signModelStatement(statement: ModelStatement, privateKey: KeyObject): ModelSignatureBundle {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign(digestFor(privateKey), pae(payload), { key: privateKey, dsaEncoding: 'der' });
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: pemHint(createPublicKey(privateKey)) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}

/** A bundle as read from a file; `where` names it in errors. */
export function parseModelSignature(text: string, where: string): ModelSignatureBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SigningError(
      'SignatureInvalid',
      `${where}: not JSON (${(error as Error).message}); expected a model.sig bundle.`,
    );
  }
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SigningError(
      'SignatureInvalid',
      `${where}: not a model-signing bundle (${issue?.path.join('.') || '(root)'}: ${issue?.message}).`,
    );
  }
  return parsed.data;
}

/**
 * Checks the bundle's signature with one of `keys` and returns the signed statement and the key
 * that signed it; refuses (SignatureInvalid, SignatureKeyNotRegistered) otherwise.
 */
export function verifyModelSignature(
  bundle: ModelSignatureBundle,
  keys: readonly KeyObject[],
  where: string,
): { statement: ModelStatement; key: KeyObject } {
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
  const hint = bundle.verificationMaterial.publicKey?.hint;
  const candidates = hint ? keys.filter((k) => pemHint(k) === hint) : keys;
  if (candidates.length === 0) {
    throw new SigningError(
      'SignatureKeyNotRegistered',
      `${where}: signed by a key none of the trusted ones is (key hint ${hint}; trusted: ${
        keys.map((k) => keyFingerprint(k)).join(', ') || 'none'
      }).`,
    );
  }
  const key = candidates.find((k) => {
    try {
      return verify(digestFor(k), pae(payload), { key: k, dsaEncoding: 'der' }, sig);
    } catch {
      return false;
    }
  });
  if (!key) {
    throw new SigningError(
      'SignatureInvalid',
      `${where}: the signature does not verify: the bundle's statement was altered, or it was signed by another key.`,
    );
  }
  let statement: ModelStatement;
  try {
    statement = statementSchema.parse(JSON.parse(payload.toString('utf8')));
  } catch (error) {
    throw new SigningError(
      'SignatureInvalid',
      `${where}: the signed payload is not a model-signing statement (${(error as Error).message}).`,
    );
  }
  const root = modelStatement(
    statement.subject[0]?.name ?? '',
    statement.predicate.resources.map((r) => ({ name: r.name, sha256: r.digest })),
  ).subject[0]?.digest.sha256;
  if (root !== statement.subject[0]?.digest.sha256) {
    throw new SigningError(
      'SignatureInvalid',
      `${where}: the statement's root digest does not match its files.`,
    );
  }
  return { statement, key };
}

/**
 * The files of a model against the signed ones: every signed file present with its digest, and (for
 * a whole folder) no file that was not signed. Returns what differs, in words; empty when all match.
 */
export function compareModelFiles(
  statement: ModelStatement,
  actual: readonly ModelFile[],
  options: { wholeFolder: boolean },
): string[] {
  const signed = new Map(statement.predicate.resources.map((r) => [r.name, r.digest]));
  const present = new Map(actual.map((f) => [f.name, f.sha256]));
  const problems: string[] = [];
  for (const [name, digest] of signed) {
    const found = present.get(name);
    if (found === undefined) {
      if (options.wholeFolder) problems.push(`${name} is signed but missing`);
    } else if (found !== digest) {
      problems.push(`${name} has sha256 ${found}, but the signature says ${digest}: it was changed`);
    }
  }
  for (const name of present.keys()) {
    if (!signed.has(name)) problems.push(`${name} is not covered by the signature`);
  }
  return problems;
}
