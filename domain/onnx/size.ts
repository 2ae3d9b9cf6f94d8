import { OnnxExportError } from './errors';

/** The platform's default upload limit, counted after base64 encoding. */
export const DEFAULT_SIZE_LIMIT_BYTES = 15 * 1024 * 1024;

export interface SizeReport {
  bytes: number;
  base64Bytes: number;
  limitBytes: number;
  withinLimit: boolean;
}

export function onnxSizeReport(bytes: number, limitBytes = DEFAULT_SIZE_LIMIT_BYTES): SizeReport {
  const base64Bytes = 4 * Math.ceil(bytes / 3);
  return { bytes, base64Bytes, limitBytes, withinLimit: base64Bytes <= limitBytes };
}

export function assertWithinSizeLimit(report: SizeReport): void {
  if (report.withinLimit) return;
  throw new OnnxExportError(
    'ModelTooLarge',
    `The ONNX file is ${report.bytes} bytes, ${report.base64Bytes} after base64, over the upload limit of ${report.limitBytes} ` +
      'bytes. Use fewer or narrower layers, or raise the limit if the platform allows it.',
    { ...report },
  );
}
