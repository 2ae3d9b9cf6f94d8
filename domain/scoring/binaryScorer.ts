import type * as ort from 'onnxruntime-node';
import { PROBABILITY_OUTPUT } from '../onnx/exporter';
import { ScoringError } from './errors';
import { addNumericFeeds, type NumericInput, numericInputsOf, numericInputsWanted } from './numericFeeds';
import { positiveClass } from './positiveClass';
import { addTextFeeds } from './textFeeds';

export { positiveClass } from './positiveClass';

/** One onnxruntime session that turns rows of raw features into positive-class probabilities. */
export interface BinaryScorer {
  readonly inputName: string;
  readonly outputName: string;
  /**
   * Probability of class 1 for each of `nRows` rows in `x` (row-major, nRows x nFeatures); for a
   * model with categorical inputs, each one's text per row in `texts` (in the order of `categorical`).
   */
  score(x: Float32Array, nRows: number, texts?: string[][]): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Opens `onnx` for scoring rows of `nFeatures` raw values, refusing up front a model that cannot
 * do that: it must take one float tensor [N, nFeatures] (Slipway's exports fold the scaler into
 * the graph, so raw values are what it expects) and the chosen output must be float
 * probabilities, [N], [N, 1] or [N, 2] (class 0, class 1: the shape converters of other
 * libraries give classifiers).
 *
 * The output is `outputName` when given; otherwise "probability" (what Slipway's exporter
 * writes) when the model has it, else the model's first float output. A label output (int64)
 * is never picked by default: apply derives the label from the probability and the threshold.
 */
export async function openBinaryScorer(
  onnx: Uint8Array,
  nFeatures: number,
  outputName?: string,
  options: {
    intraOpThreads?: number;
    /**
     * The model's string inputs (categorical features, each [N, 1] and named after its feature,
     * as Slipway's exports with --categorical take them); `nFeatures` then counts the numeric ones.
     */
    categorical?: string[];
  } = {},
): Promise<BinaryScorer> {
  const categorical = options.categorical ?? [];
  // Loaded on first use: the native runtime takes a noticeable time to load, and commands that
  // never score (most of them) should not pay for it.
  const runtime = require('onnxruntime-node') as typeof ort;
  let session: ort.InferenceSession;
  try {
    session = await runtime.InferenceSession.create(
      onnx,
      options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads },
    );
  } catch (error) {
    throw new ScoringError(
      'InvalidModel',
      `onnxruntime cannot open the model (${onnx.length} bytes): ${(error as Error).message}. ` +
        'Check that the artifact is an ONNX file.',
    );
  }
  try {
    const numeric =
      categorical.length > 0
        ? checkMixedInputs(session, nFeatures, categorical)
        : [{ name: checkInput(session, nFeatures), offset: 0, width: nFeatures }];
    const output = pickOutput(session, outputName);
    return {
      inputName: numeric[0]?.name ?? (categorical[0] as string),
      outputName: output,
      async score(x, nRows, texts = []) {
        const feeds: Record<string, ort.Tensor> = {};
        addNumericFeeds(runtime, feeds, numeric, x, nRows, nFeatures);
        addTextFeeds(runtime, feeds, categorical, texts, nRows);
        const result = await session.run(feeds, [output]);
        const scores = result[output] as ort.Tensor;
        return positiveClass(scores.data as Float32Array, scores.dims, nRows, output);
      },
      release: () => session.release(),
    };
  } catch (error) {
    await session.release();
    throw error;
  }
}

function describe(meta: ort.InferenceSession.ValueMetadata): string {
  return meta.isTensor
    ? `${meta.name}: ${meta.type} [${meta.shape.join(', ')}]`
    : `${meta.name}: not a tensor`;
}

function checkInput(session: ort.InferenceSession, nFeatures: number): string {
  const inputs = session.inputMetadata;
  const mismatch = (problem: string) =>
    new ScoringError(
      'ModelInputMismatch',
      `The model ${problem}; apply feeds one float32 tensor [N, ${nFeatures}] of raw feature values ` +
        `in the declared feature order. Its inputs: ${inputs.map(describe).join('; ')}.`,
    );
  const strings = inputs.filter((i) => i.isTensor && i.type === 'string').map((i) => i.name);
  if (strings.length > 0) {
    // Reached only by callers that feed float rows alone (imports): apply and serve feed the text.
    throw mismatch(
      `takes categorical features as text (${strings.join(', ')}), which this command does not feed`,
    );
  }
  if (inputs.length !== 1) throw mismatch(`has ${inputs.length} inputs`);
  const input = inputs[0] as ort.InferenceSession.ValueMetadata;
  if (!input.isTensor || input.type !== 'float32') throw mismatch('does not take float32 values');
  const width = input.shape[1];
  if (input.shape.length !== 2 || (typeof width === 'number' && width !== nFeatures)) {
    throw mismatch(`expects input shape [${input.shape.join(', ')}], not ${nFeatures} features per row`);
  }
  return input.name;
}

/**
 * A model with categorical features: one string input [N, 1] per categorical feature, named after
 * it, and the numeric ones as one float32 block [N, nFeatures] or one [N, 1] input each (skl2onnx's
 * DataFrame pipelines; see numericFeeds.ts); no float input when every feature is categorical.
 */
function checkMixedInputs(
  session: ort.InferenceSession,
  nFeatures: number,
  categorical: string[],
): NumericInput[] {
  const inputs = session.inputMetadata;
  const numeric = numericInputsOf(inputs, nFeatures, categorical);
  if (!numeric) {
    throw new ScoringError(
      'ModelInputMismatch',
      `The model does not take ${numericInputsWanted(nFeatures)} and ` +
        `string tensors ${categorical.join(', ')}; apply feeds the numeric features' raw values and each ` +
        `categorical feature's text. Its inputs: ${inputs.map(describe).join('; ')}.`,
    );
  }
  return numeric;
}

function pickOutput(session: ort.InferenceSession, wanted: string | undefined): string {
  const outputs = session.outputMetadata;
  const listed = outputs.map(describe).join('; ');
  let chosen: ort.InferenceSession.ValueMetadata | undefined;
  if (wanted !== undefined) {
    chosen = outputs.find((o) => o.name === wanted);
    if (!chosen) {
      throw new ScoringError(
        'UnknownModelOutput',
        `The model has no output "${wanted}". Its outputs: ${listed}. Pick one of those names.`,
        { wanted, outputs: outputs.map((o) => o.name) },
      );
    }
  } else {
    chosen =
      outputs.find((o) => o.name === PROBABILITY_OUTPUT && o.isTensor && o.type === 'float32') ??
      outputs.find((o) => o.isTensor && o.type === 'float32');
    if (!chosen) {
      throw new ScoringError(
        'UnsupportedModelOutput',
        `The model has no float32 tensor output to read probabilities from. Its outputs: ${listed}.`,
      );
    }
  }
  if (!chosen.isTensor || chosen.type !== 'float32') {
    throw new ScoringError(
      'UnsupportedModelOutput',
      `Output ${describe(chosen)} is not float32 probabilities. Its outputs: ${listed}. ` +
        'Pick the probability output by name (apply derives the label from it and the threshold).',
    );
  }
  const width = chosen.shape[1];
  if (chosen.shape.length > 2 || (typeof width === 'number' && width !== 1 && width !== 2)) {
    throw new ScoringError(
      'UnsupportedModelOutput',
      `Output ${describe(chosen)} is not the probability of a binary classifier ([N], [N, 1] or [N, 2]).`,
    );
  }
  return chosen.name;
}

/** Scores a whole row-major matrix in batches (bounded input tensors), one session for all. */
export async function scoreMatrix(
  onnx: Uint8Array,
  x: Float32Array,
  nRows: number,
  nFeatures: number,
  options: {
    outputName?: string;
    batchRows?: number;
    /** A model with categorical features: its string inputs by name, each one's text per row. */
    categories?: { names: string[]; texts: string[][] };
  } = {},
): Promise<Float32Array> {
  const batchRows = options.batchRows ?? 8192;
  const { categories } = options;
  const scorer = await openBinaryScorer(
    onnx,
    nFeatures,
    options.outputName,
    categories ? { categorical: categories.names } : {},
  );
  try {
    const scores = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += batchRows) {
      const end = Math.min(nRows, start + batchRows);
      const texts = categories?.texts.map((t) => t.slice(start, end));
      scores.set(
        await scorer.score(x.subarray(start * nFeatures, end * nFeatures), end - start, texts),
        start,
      );
    }
    return scores;
  } finally {
    await scorer.release();
  }
}
