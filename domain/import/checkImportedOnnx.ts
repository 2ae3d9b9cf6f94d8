import * as ort from 'onnxruntime-node';
import { decodeModel, type ModelDef } from '../onnx/onnxProto';
import { boundUsed, type InputScaling, logitOf, referenceScores } from '../onnx/reference';
import { onnxSizeReport, type SizeReport } from '../onnx/size';
import { gaussian, mulberry32 } from '../random';
import { categoricalInputsOf, openAnomalyScorer } from '../scoring/anomalyScorer';
import { openBinaryScorer } from '../scoring/binaryScorer';
import { ScoringError } from '../scoring/errors';
import { numericInputsOf } from '../scoring/numericFeeds';
import { readDenseGraph } from './denseGraph';
import { OnnxImportError } from './errors';
import { adaptSklearnOutputs, type ModelKind, type OutputAdaptation } from './sklearnOutputs';

export interface ImportCheckOptions {
  /** The feature columns the file is said to take, in its input's order. */
  features: string[];
  /** The output `apply` reads; default the file's first output. */
  outputName?: string;
  /** The lowest default-domain opset accepted (an operations platform may need a recent one). */
  opsetMin?: number;
  /** Upload limit of the operations platform, counted after base64. */
  sizeLimitBytes: number;
  /** What the file predicts (default classifier); see sklearnOutputs.ts for what each reads. */
  kind?: ModelKind;
}

/** What the checks learned about the file: how to call it, and what it is. */
export interface ImportedOnnxFacts {
  /** The float input(s) of the numeric features ("a, b" when the graph takes one per feature). */
  inputName: string;
  /** The features the graph takes as text (string inputs named after them), in feature order. */
  categorical?: string[];
  outputName: string;
  outputs: string[];
  opset: number;
  irVersion: number;
  producer?: string;
  size: SizeReport;
  /** onnxruntime's output on seeded rows against the exact evaluation of the graph, when it is dense. */
  referenceCheck: ReferenceCheck;
  /** The bytes to store: the file as handed over, or with outputs added (see `adaptation`). */
  bytes: Uint8Array;
  /** Present when outputs were added to the file (a scikit-learn ZipMap or outlier export). */
  adaptation?: OutputAdaptation;
  /**
   * An anomaly model's threshold as its graph computes it (anomaly_score + predicted_outlier, the
   * same on every probe row): 0 for an adapted scikit-learn outlier export, the stored threshold
   * for a Slipway export. Absent when the sum varies by row (predicted_outlier is then not
   * threshold - anomaly_score, and no single threshold describes the file).
   */
  anomalyThreshold?: number;
}

/**
 * The reference check: `checked` with the worst share of the float32 bound onnxruntime used, or
 * not checked and why (the graph is not of the dense family the reference evaluates).
 */
export type ReferenceCheck =
  | { checked: true; rows: number; denseLayers: number; worstBoundUsed: number }
  | { checked: false; reason: string };

const PROBE_ROWS = 4;
/** Seeded rows for the reference check: around the file's own scaler when it has one. */
export const REFERENCE_ROWS = 64;

/**
 * Checks an ONNX file trained elsewhere before anything is registered, in the order that gives
 * the most useful message first: it fits the upload limit after base64; it parses; its opset is
 * one this runtime supports (and at least `opsetMin`); onnxruntime loads it; it takes exactly one
 * float input whose second dimension is the number of features; and on a few rows it returns one
 * numeric value per row (or two: the class-0/class-1 pair) from the chosen output. Where the graph
 * is a dense network (see readDenseGraph), onnxruntime's output on seeded rows must also lie
 * within the float32 rounding bound of the exact (float64) evaluation of that network, as in the
 * export's parity gate; otherwise that check is skipped and the result says why.
 */
export async function checkImportedOnnx(
  original: Uint8Array,
  options: ImportCheckOptions,
): Promise<ImportedOnnxFacts> {
  const { features, sizeLimitBytes } = options;
  if (features.length === 0 || new Set(features).size !== features.length) {
    throw new OnnxImportError(
      'InvalidImportInput',
      `The feature list must name each input column once, in the file's input order; got ${JSON.stringify(features)}.`,
    );
  }
  const size = onnxSizeReport(original.length, sizeLimitBytes);
  if (!size.withinLimit) {
    throw new OnnxImportError(
      'ModelTooLarge',
      `The file is ${size.bytes} bytes, ${size.base64Bytes} after base64, over the upload limit of ` +
        `${size.limitBytes} bytes (${(size.limitBytes / 1024 / 1024).toFixed(2)} MiB) that the operations ` +
        'platform counts after base64. Ask its authors for a smaller model, or raise the limit ' +
        '(--size-limit) if the platform allows it. Nothing was registered.',
      { ...size },
    );
  }
  const kind = options.kind ?? 'classifier';
  const adapted = adaptSklearnOutputs(original, parse(original), kind, options.outputName);
  const { model, bytes } = adapted;
  const opset = defaultOpset(model);
  if (options.opsetMin !== undefined && opset < options.opsetMin) {
    throw new OnnxImportError(
      'UnsupportedOpset',
      `The file uses opset ${opset}, below the required minimum ${options.opsetMin} (--opset-min). ` +
        'Convert it to a newer opset (for example with onnx.version_converter) or lower --opset-min.',
      { opset, opsetMin: options.opsetMin },
    );
  }
  // A model may take categorical features as string inputs named after them (Slipway's exports
  // with --categorical, skl2onnx's pipelines over a DataFrame); the float inputs hold the others.
  const categorical = categoricalInputsOf(bytes, features);
  const numericFeatures = features.filter((f) => !categorical.includes(f));
  const nNumeric = numericFeatures.length;
  const session = await load(bytes, opset);
  let facts: ReturnType<typeof checkSignature>;
  try {
    facts = checkSignature(session, numericFeatures, categorical);
  } finally {
    await session.release();
  }
  // By default the first float tensor output: a classifier's label output (int64) is never read.
  const outputName = adapted.outputName ?? facts.firstFloatOutput ?? (facts.outputs[0] as string);
  let referenceCheck: ReferenceCheck;
  let anomalyThreshold: number | undefined;
  if (kind === 'anomaly') {
    anomalyThreshold = await probeAnomaly(bytes, nNumeric, categorical);
    referenceCheck = {
      checked: false,
      reason: 'anomaly model: the reference evaluates sigmoid classifiers only',
    };
  } else {
    await probe(bytes, nNumeric, outputName, categorical);
    referenceCheck =
      categorical.length > 0
        ? {
            checked: false,
            reason: `categorical features (${categorical.join(', ')}) are encoded inside the graph, which the reference does not evaluate`,
          }
        : await checkAgainstReference(bytes, model, features.length, outputName);
  }
  return {
    inputName: facts.inputName,
    ...(categorical.length > 0 ? { categorical } : {}),
    outputs: facts.outputs,
    outputName,
    referenceCheck,
    bytes,
    ...(adapted.adaptation ? { adaptation: adapted.adaptation } : {}),
    ...(anomalyThreshold !== undefined ? { anomalyThreshold } : {}),
    opset,
    irVersion: model.irVersion,
    ...(model.producerName
      ? { producer: `${model.producerName} ${model.producerVersion ?? ''}`.trim() }
      : {}),
    size,
  };
}

function parse(bytes: Uint8Array): ModelDef {
  let model: ModelDef;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    throw new OnnxImportError(
      'UnparseableOnnx',
      `The file is not an ONNX model: it does not parse as an ONNX ModelProto (${(error as Error).message}). ` +
        'Check that it is the .onnx file itself, not a zip, a pickle or a framework checkpoint.',
    );
  }
  if (!model.graph || (model.graph.node ?? []).length === 0 || (model.opsetImport ?? []).length === 0) {
    throw new OnnxImportError(
      'UnparseableOnnx',
      'The file is not an ONNX model: it has no graph nodes or no opset. Check that it is the .onnx file itself.',
    );
  }
  return model;
}

function defaultOpset(model: ModelDef): number {
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) {
    throw new OnnxImportError(
      'UnsupportedOpset',
      `The file imports no default-domain (ai.onnx) opset, only ${model.opsetImport.map((o) => o.domain).join(', ')}; ` +
        'Slipway scores standard ONNX operators only.',
    );
  }
  return Number(entry.version);
}

async function load(bytes: Uint8Array, opset: number): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes);
  } catch (error) {
    const message = (error as Error).message;
    if (/opset/i.test(message)) {
      throw new OnnxImportError(
        'UnsupportedOpset',
        `The file uses opset ${opset}, which onnxruntime ${ort.env.versions.common} does not support ` +
          `(${firstLine(message)}). Export it again with a released opset (13 to 21 are safe everywhere).`,
        { opset },
      );
    }
    throw new OnnxImportError(
      'OnnxLoadFailed',
      `onnxruntime ${ort.env.versions.common} cannot load the file: ${firstLine(message)}. ` +
        'Check that it runs with onnxruntime where it was made.',
    );
  }
}

function firstLine(message: string): string {
  // onnxruntime prefixes its source location; the sentence after it is what a person needs.
  return (message.split('\n')[0] ?? message).replace(/^\/\S+:\d+ .*?\)\s+(?=[A-Z])/, '').slice(0, 600);
}

function describe(meta: ort.InferenceSession.ValueMetadata): string {
  return meta.isTensor
    ? `${meta.name} (${meta.type} [${meta.shape.join(', ')}])`
    : `${meta.name} (not a tensor)`;
}

function checkSignature(
  session: ort.InferenceSession,
  numericFeatures: string[],
  /** String inputs fed with categorical features' text, named after them. */
  categorical: string[] = [],
): Pick<ImportedOnnxFacts, 'inputName' | 'outputs'> & { firstFloatOutput?: string } {
  const nFeatures = numericFeatures.length;
  const listed = session.inputMetadata.map(describe).join(', ');
  const strings = session.inputMetadata.filter((i) => i.isTensor && i.type === 'string');
  const unnamed = strings.filter((i) => !categorical.includes(i.name));
  if (unnamed.length > 0) {
    throw new OnnxImportError(
      'ModelInputMismatch',
      `The file takes text in ${unnamed.map(describe).join(', ')}, which is not one of the features given ` +
        `(--features ${[...numericFeatures, ...categorical].join(',')}). A categorical feature's string input must be ` +
        'named after its column (as skl2onnx names the inputs of a pipeline over a DataFrame): list the columns by ' +
        "the file's input names.",
    );
  }
  const inputs = session.inputMetadata.filter((i) => !categorical.includes(i.name));
  const numeric = numericInputsOf(session.inputMetadata, nFeatures, categorical);
  if (!numeric) {
    const wrongType = inputs.find((i) => !i.isTensor || i.type !== 'float32');
    if (wrongType) {
      throw new OnnxImportError(
        'ModelInputMismatch',
        `The file's input ${describe(wrongType)} does not take float32 values; Slipway feeds float32 features` +
          `${categorical.length > 0 ? ` and the text of ${categorical.join(', ')}` : ''}. Its inputs: ${listed}.`,
      );
    }
    if (inputs.length > 1 && inputs.every((i) => i.isTensor && i.shape.length === 2 && i.shape[1] === 1)) {
      throw new OnnxImportError(
        'FeatureCountMismatch',
        `The file takes ${inputs.length} numeric inputs of one column each (${listed}), but ${nFeatures} numeric ` +
          'features were given (--features). List exactly the columns the model was trained on, in its input order.',
        { inputs: inputs.map((i) => i.name), features: nFeatures },
      );
    }
    const input = inputs[0];
    if (inputs.length === 1 && input?.isTensor) {
      throw new OnnxImportError(
        'FeatureCountMismatch',
        `The file's input ${describe(input)} takes ${input.shape.length === 2 ? input.shape[1] : `shape [${input.shape.join(', ')}]`} ` +
          `features per row, but ${nFeatures} ${categorical.length > 0 ? 'numeric ' : ''}features were given (--features). ` +
          'List exactly the columns the model was trained on, in its input order.',
        { inputShape: input.shape, features: nFeatures },
      );
    }
    throw new OnnxImportError(
      'ModelInputMismatch',
      `The file has ${inputs.length} numeric inputs (${listed}); Slipway feeds the numeric features as one float ` +
        'tensor [N, features] or one [N, 1] tensor each, and each categorical feature as a string tensor [N, 1] named after it.',
    );
  }
  // One input per numeric feature: when they are named after features, the names must be the
  // declared ones in the declared order, or column j would be fed to another feature's input.
  if (numeric.length > 1) {
    const names = numeric.map((n) => n.name);
    const named = names.filter((n) => numericFeatures.includes(n) || categorical.includes(n));
    if (named.length > 0 && names.join('\n') !== numericFeatures.join('\n')) {
      throw new OnnxImportError(
        'FeatureOrderMismatch',
        `The file takes one input per numeric feature, in the order ${names.join(', ')}, but --features lists the ` +
          `numeric features as ${numericFeatures.join(', ')}. List the columns in the file's input order.`,
        { inputs: names, features: numericFeatures },
      );
    }
  }
  const firstFloat = session.outputMetadata.find((o) => o.isTensor && o.type === 'float32');
  return {
    inputName: numeric.length > 0 ? numeric.map((n) => n.name).join(', ') : '(none: every feature is text)',
    outputs: session.outputMetadata.map((o) => o.name),
    ...(firstFloat ? { firstFloatOutput: firstFloat.name } : {}),
  };
}

/**
 * Scores a few rows through the scorer `apply` uses, so what is registered is what apply can run:
 * rows of zeros, and for categorical inputs a text no model has seen (it must score, not fail).
 */
async function probe(
  bytes: Uint8Array,
  nFeatures: number,
  outputName: string,
  categorical: string[] = [],
): Promise<void> {
  try {
    const scorer = await openBinaryScorer(
      bytes,
      nFeatures,
      outputName,
      categorical.length > 0 ? { categorical } : {},
    );
    try {
      const texts = categorical.map(() => Array.from({ length: PROBE_ROWS }, (_, r) => `slipway-probe-${r}`));
      const scores = await scorer.score(new Float32Array(PROBE_ROWS * nFeatures), PROBE_ROWS, texts);
      if (scores.length !== PROBE_ROWS || !scores.every((s) => Number.isFinite(s))) {
        throw new OnnxImportError(
          'UnsupportedModelOutput',
          `Output "${outputName}" gave ${scores.length} values for ${PROBE_ROWS} rows of zeros, not one finite number per row.`,
        );
      }
    } finally {
      await scorer.release();
    }
  } catch (error) {
    if (error instanceof OnnxImportError) throw error;
    if (error instanceof ScoringError) {
      if (error.type === 'ModelInputMismatch') {
        throw new OnnxImportError('FeatureCountMismatch', error.message, error.details);
      }
      throw new OnnxImportError(
        'UnsupportedModelOutput',
        `${error.message} (--output-name picks another output)`,
        error.details,
      );
    }
    throw new OnnxImportError(
      'OnnxLoadFailed',
      `The file loads, but running it on ${PROBE_ROWS} rows of ${nFeatures} zeros failed: ` +
        `${firstLine((error as Error).message)}. Check --features against the columns it was trained on.`,
    );
  }
}

/**
 * Scores a few rows through the anomaly scorer `apply` uses: both outputs, one finite float per
 * row. Returns the threshold the graph implies (anomaly_score + predicted_outlier) when it is the
 * same on every row, zeros and seeded rows alike, within float32 rounding; else undefined.
 */
async function probeAnomaly(
  bytes: Uint8Array,
  nFeatures: number,
  categorical: string[] = [],
): Promise<number | undefined> {
  try {
    const scorer = await openAnomalyScorer(bytes, nFeatures, categorical);
    try {
      // Rows of zeros, then rows of seeded values in [-2, 2); categories are text no model has seen.
      const x = new Float32Array(2 * PROBE_ROWS * nFeatures);
      const random = mulberry32(22);
      for (let k = PROBE_ROWS * nFeatures; k < x.length; k++) x[k] = 4 * random() - 2;
      const texts = categorical.map(() =>
        Array.from({ length: 2 * PROBE_ROWS }, (_, r) => `slipway-probe-${r}`),
      );
      const { score, outlier } = await scorer.score(x, 2 * PROBE_ROWS, texts);
      if (![...score, ...outlier].every((v) => Number.isFinite(v))) {
        throw new OnnxImportError(
          'UnsupportedModelOutput',
          `The anomaly outputs gave non-finite values for ${2 * PROBE_ROWS} probe rows (zeros and seeded values).`,
        );
      }
      const sums = Array.from(score, (s, r) => s + (outlier[r] as number));
      const first = sums[0] as number;
      const tolerance = 1e-5 * (1 + Math.max(...Array.from(score, Math.abs)));
      // To float32 precision: the graph holds its threshold as a float32 constant.
      return sums.every((t) => Math.abs(t - first) <= tolerance) ? Math.fround(first) : undefined;
    } finally {
      await scorer.release();
    }
  } catch (error) {
    if (error instanceof OnnxImportError) throw error;
    if (error instanceof ScoringError)
      throw new OnnxImportError('UnsupportedModelOutput', error.message, error.details);
    throw new OnnxImportError(
      'OnnxLoadFailed',
      `The file loads, but running it on ${PROBE_ROWS} rows of ${nFeatures} zeros failed: ` +
        `${firstLine((error as Error).message)}. Check --features against the columns it was trained on.`,
    );
  }
}

async function checkAgainstReference(
  bytes: Uint8Array,
  model: ModelDef,
  nFeatures: number,
  outputName: string,
): Promise<ReferenceCheck> {
  const reading = readDenseGraph(model, outputName, nFeatures);
  if ('reason' in reading)
    return { checked: false, reason: `not a dense network the reference reads: ${reading.reason}` };
  const { network } = reading;
  const x = referenceRows(network.scaling, nFeatures);
  const scorer = await openBinaryScorer(bytes, nFeatures, outputName);
  let scores: Float32Array;
  try {
    scores = await scorer.score(x, REFERENCE_ROWS);
  } finally {
    await scorer.release();
  }
  const reference = referenceScores(network, x, REFERENCE_ROWS, nFeatures);
  let worst = { used: 0, row: 0 };
  for (let r = 0; r < REFERENCE_ROWS; r++) {
    const used = boundUsed(
      scores[r] as number,
      reference.logit[r] as number,
      reference.logitBound[r] as number,
    );
    if (!(used <= worst.used)) worst = { used, row: r };
  }
  if (worst.used > 1) {
    const r = worst.row;
    const z = reference.logit[r] as number;
    const p = scores[r] as number;
    throw new OnnxImportError(
      'ReferenceMismatch',
      `onnxruntime's output "${outputName}" leaves the float32 rounding bound of the exact evaluation of the ` +
        `file's own dense layers at seeded probe row ${r}: it gives ${p} (logit ${logitOf(p).toPrecision(7)}), ` +
        `the exact logit is ${z.toPrecision(7)}, off by ${worst.used.toExponential(3)} x the bound ` +
        `${(reference.logitBound[r] as number).toExponential(3)}. The graph is not computed as it is written; ` +
        'check the file with the onnxruntime it was made for. Nothing was registered.',
      { row: r, boundUsed: worst.used, exactLogit: z, probability: p },
    );
  }
  return {
    checked: true,
    rows: REFERENCE_ROWS,
    denseLayers: network.layers.length,
    worstBoundUsed: worst.used,
  };
}

/** Seeded rows a unit or two around the file's scaler centre (raw N(0, 1) values without one). */
export function referenceRows(scaling: InputScaling | undefined, nFeatures: number): Float32Array {
  const normal = gaussian(mulberry32(30));
  const x = new Float32Array(REFERENCE_ROWS * nFeatures);
  for (let r = 0; r < REFERENCE_ROWS; r++) {
    for (let j = 0; j < nFeatures; j++) {
      const center = (scaling?.center?.[j] as number | undefined) ?? 0;
      const spread = scaling?.divisor
        ? Math.abs(scaling.divisor[j] as number)
        : scaling?.multiplier
          ? 1 / Math.abs(scaling.multiplier[j] as number)
          : 1;
      // Row 0 is all zeros, a row a broken constant often shows on.
      x[r * nFeatures + j] = r === 0 ? 0 : center + spread * 1.5 * normal();
    }
  }
  return x;
}
