import { z } from 'zod';
import { ModelTooLargeError, OnnxExportError } from './errors';

/**
 * The platform's default upload limit, counted on the base64 text it receives: 15 MB in the
 * binary sense, 15 MiB = 15 * 1024 * 1024 = 15,728,640 bytes. (A limit meant in decimal megabytes,
 * 15,000,000, is passed explicitly.)
 */
export const DEFAULT_SIZE_LIMIT_BYTES = 15 * 1024 * 1024;

/** An ONNX file's size against the upload limit, as the export and import steps return it. */
export const sizeReportSchema = z.object({
  bytes: z.number(),
  /** Length of the padded base64 text of the file: 4 * ceil(bytes / 3). */
  base64Bytes: z.number(),
  limitBytes: z.number(),
  withinLimit: z.boolean(),
});
export type SizeReport = z.infer<typeof sizeReportSchema>;

export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

export function onnxSizeReport(bytes: number, limitBytes = DEFAULT_SIZE_LIMIT_BYTES): SizeReport {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`file size ${bytes} is not a byte count`);
  }
  if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) {
    throw new OnnxExportError(
      'InvalidExportInput',
      `The size limit ${limitBytes} is not a positive whole number of bytes.`,
    );
  }
  const base64Bytes = base64Length(bytes);
  return { bytes, base64Bytes, limitBytes, withinLimit: base64Bytes <= limitBytes };
}

/** Throws ModelTooLargeError, with both sizes and what to change, when over the limit. */
export function assertWithinSizeLimit(report: SizeReport): void {
  if (report.withinLimit) return;
  // float32 weights: 4 bytes each, 4/3 of that after base64.
  const excessParams = Math.ceil(((report.base64Bytes - report.limitBytes) * 3) / 4 / 4);
  throw new ModelTooLargeError(
    `The ONNX file is ${report.bytes} bytes, ${report.base64Bytes} after base64, over the upload limit of ` +
      `${report.limitBytes} bytes (${(report.limitBytes / 1024 / 1024).toFixed(2)} MiB). Remove about ` +
      `${excessParams} parameters: use fewer or narrower dense layers (parameters grow with the product of ` +
      'neighbouring widths), or raise the limit if the platform allows it.',
    report.bytes,
    report.base64Bytes,
    report.limitBytes,
  );
}
