import { openSourceStream, sourceLabel, sourceTooLarge } from '../data/sourceStream';
import { parseDatasetSource } from '../data/sourceUri';
import { sha256Hex } from '../storage/hashing';
import type { S3Settings } from '../storage/s3Client';
import { OnnxImportError } from './errors';

export interface OnnxSource {
  /** The canonical URI (absolute file:// or s3://), as lineage records it. */
  uri: string;
  bytes: Uint8Array;
  sha256: string;
}

/**
 * Reads a file handed over from elsewhere, from a path, file:// or s3:// URI, with the same
 * source rules (and messages) as datasets. `maxBytes` only bounds memory; the upload limit is
 * checked afterwards with a message about the model, not the file.
 */
export async function readOnnxSource(
  input: string,
  options: { maxBytes: number; s3?: S3Settings },
): Promise<OnnxSource> {
  const source = parseDatasetSource(input);
  if (source.kind === 'synthetic') {
    throw new OnnxImportError(
      'InvalidImportInput',
      `${source.uri} generates CSV data, not a model; pass the path or s3:// URI of an .onnx file.`,
    );
  }
  const chunks: Buffer[] = [];
  let seen = 0;
  for await (const chunk of await openSourceStream(source, options)) {
    seen += (chunk as Buffer).length;
    // A stream may be longer than its announced size.
    if (seen > options.maxBytes) throw sourceTooLarge(sourceLabel(source), seen, options.maxBytes, true);
    chunks.push(chunk as Buffer);
  }
  const bytes = new Uint8Array(Buffer.concat(chunks));
  return { uri: source.uri, bytes, sha256: sha256Hex(bytes) };
}
