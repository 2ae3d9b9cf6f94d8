import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Makes the error a caller throws (its own configuration error class), from a message naming the variable. */
export type SettingError = (message: string) => Error;

/**
 * Reads a PEM file named by a setting (a CA bundle, a certificate, a key). A missing or unreadable
 * file is an error naming the variable, so a typo in a path is found at start, not at first use.
 */
export function readPemSetting(variable: string, path: string, fail: SettingError): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(
      `${variable}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}). ` +
        'Give the path of a PEM file.',
    );
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM file: one, or a CA bundle of several. A file with none (a key, a
 * DER file, a text file) or with a damaged one is an error naming the variable.
 */
export function certificatesOf(
  variable: string,
  path: string,
  pem: Buffer,
  fail: SettingError,
): X509Certificate[] {
  const blocks = pem.toString('latin1').match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0)
    throw fail(`${variable}: ${path} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block).`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw fail(`${variable}: ${path} is not a PEM certificate (${(err as Error).message}).`);
    }
  });
}
