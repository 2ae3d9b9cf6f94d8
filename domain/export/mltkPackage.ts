import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { assertWithinSizeLimit, onnxSizeReport, type SizeReport } from '../onnx/size';
import { assertModelName } from '../registry/modelName';

/** What the operations platform needs to take an ONNX model, as a folder a person can upload. */
export interface MltkPackageOptions {
  outDir: string;
  modelName: string;
  onnx: Uint8Array;
  features: string[];
  target: string;
  /** Upload limit, counted on the base64 text (the platform stores the model base64-encoded). */
  sizeLimitBytes?: number;
  /** The ML-SPL algorithm that will load the model; the platform's ONNX support by default. */
  algoName?: string;
}

export interface MltkPackage {
  dir: string;
  files: { onnx: string; mlmodel: string; uploadNotes: string };
  size: SizeReport;
}

export const DEFAULT_ALGO_NAME = 'ONNXModel';

/**
 * Writes `<name>.onnx`, the `__mlspl_<name>.mlmodel` lookup (a CSV with columns algo, model,
 * options: the base64 model and an options JSON with feature_variables, target_variable,
 * model_name, algo_name and mlspl_limits) and UPLOAD.txt with what to type into the upload form.
 * The size limit is checked first, and the files appear together or not at all (written into a
 * scratch folder beside `outDir`, then moved in).
 */
export async function writeMltkPackage(options: MltkPackageOptions): Promise<MltkPackage> {
  assertModelName(options.modelName);
  const limit = options.sizeLimitBytes ?? 15 * 1024 * 1024;
  const size = onnxSizeReport(options.onnx.length, limit);
  assertWithinSizeLimit(size);
  const algo = options.algoName ?? DEFAULT_ALGO_NAME;
  const name = options.modelName;
  const optionsJson = JSON.stringify({
    feature_variables: options.features,
    target_variable: [options.target],
    model_name: name,
    algo_name: algo,
    mlspl_limits: { max_model_size_mb: Math.floor(limit / (1024 * 1024)) },
  });
  const mlmodel = stringify([
    ['algo', 'model', 'options'],
    [algo, Buffer.from(options.onnx).toString('base64'), optionsJson],
  ]);
  const notes = [
    `Model name:       ${name}`,
    `Feature fields:   ${options.features.join(', ')}`,
    `Target field:     ${options.target}`,
    `File:             ${name}.onnx (${size.bytes} bytes; ${size.base64Bytes} after base64, limit ${limit})`,
    '',
    `Score with: | apply ${name}   (adds predicted(${options.target}))`,
    '',
  ].join('\n');

  const files = { onnx: `${name}.onnx`, mlmodel: `__mlspl_${name}.mlmodel`, uploadNotes: 'UPLOAD.txt' };
  await mkdir(dirname(options.outDir), { recursive: true });
  const scratch = await mkdtemp(join(dirname(options.outDir), '.mltk-'));
  try {
    await writeFile(join(scratch, files.onnx), options.onnx);
    await writeFile(join(scratch, files.mlmodel), mlmodel);
    await writeFile(join(scratch, files.uploadNotes), notes);
    await mkdir(options.outDir, { recursive: true });
    for (const file of Object.values(files)) await rename(join(scratch, file), join(options.outDir, file));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return {
    dir: options.outDir,
    files: {
      onnx: join(options.outDir, files.onnx),
      mlmodel: join(options.outDir, files.mlmodel),
      uploadNotes: join(options.outDir, files.uploadNotes),
    },
    size,
  };
}
