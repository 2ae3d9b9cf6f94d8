import { z } from 'zod';
import { TrainingInputError } from './errors';
import type { Split } from './split';

/**
 * A train/test split as stored: a JSON header then the train and test row indices as uint32, so
 * every later step (training, evaluation, export) sees exactly the same rows.
 */
const headerSchema = z.object({
  format: z.literal('slipway-split-v1'),
  train: z.number().int().nonnegative(),
  test: z.number().int().nonnegative(),
  testFraction: z.number(),
  seed: z.number().int(),
  stratify: z.boolean(),
});
export type SplitHeader = z.infer<typeof headerSchema>;

export function encodeSplit(
  split: Split,
  settings: { testFraction: number; seed: number; stratify: boolean },
): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      format: 'slipway-split-v1',
      train: split.train.length,
      test: split.test.length,
      ...settings,
    }),
  );
  const out = Buffer.alloc(4 + header.length + 4 * (split.train.length + split.test.length));
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let offset = 4 + header.length;
  for (const part of [split.train, split.test]) {
    Buffer.from(part.buffer, part.byteOffset, part.byteLength).copy(out, offset);
    offset += part.byteLength;
  }
  return out;
}

export function decodeSplit(bytes: Buffer): Split & { header: SplitHeader } {
  try {
    const length = bytes.readUInt32LE(0);
    const header = headerSchema.parse(JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')));
    const start = 4 + length;
    const copy = (from: number, count: number) =>
      new Uint32Array(new Uint8Array(bytes.subarray(from, from + 4 * count)).buffer);
    return { header, train: copy(start, header.train), test: copy(start + 4 * header.train, header.test) };
  } catch (err) {
    throw new TrainingInputError(
      'InvalidCheckpoint',
      `The stored split cannot be read: ${(err as Error).message}`,
    );
  }
}
