import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { OnnxExportError } from '../onnx/errors';
import {
  assertWithinSizeLimit,
  DEFAULT_SIZE_LIMIT_BYTES,
  onnxSizeReport,
  type SizeReport,
} from '../onnx/size';
import { assertModelName, parseModelName } from '../registry/modelName';

/** What the operations platform needs to take an ONNX model, as a folder a person can upload. */
export interface MltkPackageOptions {
  /** Created if missing; files of an earlier package of the same model in it are replaced. */
  outDir: string;
  /** The Slipway model name (checked with assertModelName, so it is safe as a file name). */
  modelName: string;
  onnx: Uint8Array;
  /** Feature variables in the model's input order. */
  features: string[];
  target: string;
  /** Upload limit on the base64 text (the platform stores the model base64-encoded); 15 MiB. */
  sizeLimitBytes?: number;
  /** Recorded as `algo` and `algo_name`; default "onnx", what the platform records for uploads. */
  algoName?: string;
  /**
   * The name on the platform; default the Slipway name with "." and "-" turned into "_", since
   * the platform takes only letters, digits and "_".
   */
  platformModelName?: string;
}

/** The options JSON of the .mlmodel lookup. */
export interface MlmodelOptions {
  feature_variables: string[];
  target_variable: string[];
  model_name: string;
  algo_name: string;
  /** max_model_size_mb: the size limit in MiB (limit bytes / 2^20), the unit the platform's setting uses. */
  mlspl_limits: { max_model_size_mb: number };
  is_onnx: true;
}

export interface MltkPackage {
  dir: string;
  platformModelName: string;
  files: { onnx: string; mlmodel: string; uploadNotes: string };
  size: SizeReport;
  options: MlmodelOptions;
}

/** The algorithm name the platform records for an uploaded ONNX model (its file extension). */
export const DEFAULT_ALGO_NAME = 'onnx';
const PLATFORM_NAME = /^[A-Za-z0-9_]{1,128}$/;

/**
 * The Slipway model name as the platform accepts it: "." and "-" become "_". A namespace is left
 * out: on the platform it is the app the model is uploaded into, not part of the model's name.
 */
export function platformModelName(modelName: string): string {
  return parseModelName(modelName).model.replace(/[.-]/g, '_');
}

/**
 * Writes, for the operations platform:
 * - `<name>.onnx`, the file to upload (the upload form takes the model name from the file name);
 * - `__mlspl_<name>.onnx.mlmodel`, the lookup the platform itself writes for an uploaded ONNX
 *   model, for installing without the form (into an app's lookups folder): a CSV with header
 *   `algo,model,options` and one row: the algorithm name, the base64 of the ONNX bytes, and the
 *   options JSON (MlmodelOptions);
 * - `UPLOAD.txt`: the model name, features (comma list) and target to type into the form.
 *
 * Everything is checked before anything is written (names, features, the size limit counted
 * after base64), and the files are written into a scratch folder beside `outDir` first and then
 * moved in, so a failure leaves no partial package.
 */
export async function writeMltkPackage(
  options: MltkPackageOptions & {
    /** More files to put in the folder (the model card, the signature), written before the lookup. */
    extraFiles?: ReadonlyArray<{ name: string; bytes: Buffer | string }>;
  },
): Promise<MltkPackage> {
  const rendered = renderMltkPackage(options);
  const { files, contents } = rendered;

  const existing = await stat(options.outDir).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new OnnxExportError('InvalidExportInput', `${options.outDir} is a file; give a folder for --out.`);
  }
  const parent = dirname(options.outDir);
  await mkdir(parent, { recursive: true });
  const scratch = await mkdtemp(join(parent, `.${basename(options.outDir)}.mltk-`));
  // The lookup lands last: it is what the platform loads, so it never points at a missing file.
  const all = [
    { name: files.onnx, bytes: contents.onnx },
    { name: files.uploadNotes, bytes: contents.uploadNotes },
    ...(options.extraFiles ?? []),
    { name: files.mlmodel, bytes: contents.mlmodel },
  ];
  try {
    for (const file of all) await writeFile(join(scratch, file.name), file.bytes);
    if (!existing) {
      // The whole package appears at once.
      await rename(scratch, options.outDir);
    } else {
      // Each file is replaced atomically, the lookup last.
      for (const file of all) await rename(join(scratch, file.name), join(options.outDir, file.name));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const path = (file: string) => join(options.outDir, file);
  return {
    dir: options.outDir,
    platformModelName: rendered.platformModelName,
    files: { onnx: path(files.onnx), mlmodel: path(files.mlmodel), uploadNotes: path(files.uploadNotes) },
    size: rendered.size,
    options: rendered.options,
  };
}

/**
 * The package's files and their bytes, checked, without writing anything: what writeMltkPackage
 * writes, and what a version's signature covers (so a package exported later verifies).
 */
export function renderMltkPackage(options: Omit<MltkPackageOptions, 'outDir'>): {
  platformModelName: string;
  files: { onnx: string; mlmodel: string; uploadNotes: string };
  contents: { onnx: Buffer; mlmodel: string; uploadNotes: string };
  size: SizeReport;
  options: MlmodelOptions;
} {
  assertModelName(options.modelName);
  const name = options.platformModelName ?? platformModelName(options.modelName);
  checkPackageInputs(options, name);
  const limit = options.sizeLimitBytes ?? DEFAULT_SIZE_LIMIT_BYTES;
  const size = onnxSizeReport(options.onnx.length, limit);
  assertWithinSizeLimit(size);

  const algo = options.algoName ?? DEFAULT_ALGO_NAME;
  const mlmodelOptions: MlmodelOptions = {
    feature_variables: [...options.features],
    target_variable: [options.target],
    model_name: name,
    algo_name: algo,
    mlspl_limits: { max_model_size_mb: limit / 2 ** 20 },
    is_onnx: true,
  };
  // CRLF like the platform's own writer (Python's csv module); the base64 needs no quoting, the
  // JSON does, and csv-stringify doubles its quotes.
  const mlmodel = stringify(
    [
      ['algo', 'model', 'options'],
      [algo, Buffer.from(options.onnx).toString('base64'), JSON.stringify(mlmodelOptions)],
    ],
    { record_delimiter: 'windows' },
  );
  const files = {
    onnx: `${name}.onnx`,
    uploadNotes: 'UPLOAD.txt',
    mlmodel: `__mlspl_${name}.onnx.mlmodel`,
  };
  const notes = uploadNotes({ ...options, name, algo, size, files });
  return {
    platformModelName: name,
    files,
    contents: { onnx: Buffer.from(options.onnx), mlmodel, uploadNotes: notes },
    size,
    options: mlmodelOptions,
  };
}

function checkPackageInputs(options: Omit<MltkPackageOptions, 'outDir'>, name: string): void {
  const bad = (message: string): never => {
    throw new OnnxExportError('InvalidExportInput', message);
  };
  if (!PLATFORM_NAME.test(name)) {
    bad(
      `The platform model name "${name}" is not 1-128 letters, digits and "_"; choose another ` +
        'platformModelName.',
    );
  }
  if (options.onnx.length === 0) bad('The ONNX file is empty.');
  const { features, target } = options;
  if (features.length === 0) bad('The feature list is empty.');
  // The upload form takes comma-separated lists, so a comma inside a name would split it in two.
  for (const field of [...features, target]) {
    if (field.trim() === '' || field.includes(',')) {
      bad(
        `The field name ${JSON.stringify(field)} is empty or contains a comma; the upload form cannot take it.`,
      );
    }
  }
  const repeated = features.find((f, i) => features.indexOf(f) !== i);
  if (repeated !== undefined) bad(`The feature "${repeated}" is listed twice.`);
}

function uploadNotes(p: {
  name: string;
  modelName: string;
  features: string[];
  target: string;
  algo: string;
  size: SizeReport;
  files: { onnx: string; mlmodel: string };
}): string {
  return [
    `Upload form (ONNX model upload) for Slipway model "${p.modelName}":`,
    '',
    `  Model file:        ${p.files.onnx}`,
    `  Model name:        ${p.name}`,
    `  Feature variables: ${p.features.join(',')}`,
    `  Target variable:   ${p.target}`,
    '',
    `Size: ${p.size.bytes} bytes, ${p.size.base64Bytes} after base64; limit ${p.size.limitBytes} ` +
      `(max_model_size_mb ${p.size.limitBytes / 2 ** 20}).`,
    `Without the form: copy ${p.files.mlmodel} into the lookups folder of the app that will use it ` +
      `(algo "${p.algo}").`,
    '',
    `Score with:  ... | apply ${p.name}   (adds predicted(${p.target}))`,
    '',
  ].join('\n');
}
