import type { KeyObject } from 'node:crypto';
import type { NamespacePolicy } from '../access/policy';
import { SigningError } from '../signing/errors';
import { keyFingerprint, parsePublicKey } from '../signing/keys';
import { parseModelSignature, verifyModelSignature } from '../signing/modelSignature';

export interface ImportSignatureVerdict {
  /** The signer's key fingerprint, or absent for an unsigned import (where the policy allows one). */
  signer?: string;
  /** The name the signature gives the file. */
  signedAs?: string;
}

/**
 * A file handed over for import against its signature (an OpenSSF model-signing bundle, `--signature`):
 * the bundle must verify with a key the namespace trusts (its policy's trusted signers, or this
 * installation's own key, so a Slipway export re-imports), and list a file with exactly these bytes.
 * Without a signature, the import goes on only where the policy does not require one.
 */
export function judgeImportSignature(
  policy: NamespacePolicy | undefined,
  file: { uri: string; sha256: string },
  signatureText: string | undefined,
  ownKey: KeyObject | undefined,
): ImportSignatureVerdict {
  const namespace = policy?.namespace ?? 'this namespace';
  if (signatureText === undefined) {
    if (!policy?.requireSignedImports) return {};
    throw new SigningError(
      'SignatureRequired',
      `namespace ${namespace} requires signed imports: give the file's signature with --signature <model.sig>, made by ` +
        `one of its trusted signers (${trusted(policy)
          .map((k) => keyFingerprint(k))
          .join(', ')}).`,
    );
  }
  const keys = [...trusted(policy), ...(ownKey ? [ownKey] : [])];
  const { statement, key } = verifyModelSignature(
    parseModelSignature(signatureText, 'the signature'),
    keys,
    'the signature',
  );
  const match = statement.predicate.resources.find((r) => r.digest === file.sha256);
  if (!match) {
    throw new SigningError(
      'SignatureInvalid',
      `${file.uri} (sha256 ${file.sha256}) is not a file the signature covers ` +
        `(it signs ${statement.predicate.resources.map((r) => `${r.name} ${r.digest.slice(0, 12)}...`).join(', ')}): ` +
        'the file was changed after signing, or the signature is for another file.',
    );
  }
  return { signer: keyFingerprint(key), signedAs: match.name };
}

function trusted(policy: NamespacePolicy | undefined): KeyObject[] {
  return (policy?.trustedSigners ?? []).map((text) =>
    parsePublicKey(text, `the trusted signers of ${policy?.namespace}`),
  );
}
