import { stringify } from 'csv-stringify/sync';
import type * as ort from 'onnxruntime-node';
import { readDenseGraph } from '../import/denseGraph';
import { decodeModel } from '../onnx/onnxProto';
import { ScoringError } from '../scoring/errors';
import { addNumericFeeds, numericInputsOf } from '../scoring/numericFeeds';
import { addTextFeeds } from '../scoring/textFeeds';
import { readCategoricalPrelude, withPrelude } from './categoricalExplainer';
import {
  baselineProbability,
  buildRescaleExplainer,
  EXPLAIN_CONTRIBUTION,
  EXPLAIN_INPUT,
} from './rescaleGraph';

/** The columns `apply --explain k` adds after the probability, for rank 1..k. */
export function explanationColumns(target: string, k: number): string[] {
  return Array.from({ length: k }, (_, i) => [
    `reason${i + 1}(${target})`,
    `effect${i + 1}(${target})`,
  ]).flat();
}

/** A version's explainer: the rescale graph (rescaleGraph.ts) and the baseline it explains against. */
export interface VersionExplainer {
  graph: Uint8Array;
  /** The training means (the graph's scaler centre). */
  baseline: number[];
  /** The model's probability at the baseline row: p(row) = baselineProbability + sum of effects. */
  baselineProbability: number;
}

/**
 * The explainer of a classifier version's ONNX file: its graph must read as dense layers under a
 * Sigmoid (Slipway's exports, plain MLP imports) with a scaler whose centre is the training mean,
 * which is the baseline. Anything else is refused with why: the method needs the network's layers.
 */
export function explainerForOnnx(onnx: Uint8Array, outputName: string, features: string[]): VersionExplainer {
  // A model taking categorical features as text: its dense part starts after the encoding.
  const prelude = readCategoricalPrelude(onnx, features);
  if (prelude && 'reason' in prelude) {
    throw new ScoringError(
      'NotExplainable',
      `--explain explains the dense layers after the categorical features are encoded, and this file's are not read: ${prelude.reason}. ` +
        'Score without --explain.',
    );
  }
  const reading = readDenseGraph(decodeModel(onnx), outputName, features.length, prelude?.encoded);
  if ('reason' in reading) {
    throw new ScoringError(
      'NotExplainable',
      `--explain needs a dense network under a Sigmoid (Slipway's exports, plain MLP imports), and this file is not one: ${reading.reason}. ` +
        'Score without --explain.',
    );
  }
  const center = reading.network.scaling?.center;
  if (!center) {
    throw new ScoringError(
      'NotExplainable',
      '--explain explains each row against the training means, which a Slipway export keeps as its scaler; ' +
        'this file has no scaler (Sub of the means) before its first layer. Score without --explain.',
    );
  }
  const baseline = Array.from(center);
  const graph = buildRescaleExplainer(reading.network, baseline);
  return {
    graph: prelude ? withPrelude(graph, prelude) : graph,
    baseline,
    baselineProbability: baselineProbability(reading.network, baseline),
  };
}

/** One onnxruntime session over an explainer graph, turning rows into each row's top-k text. */
export interface RowExplainer {
  /**
   * ",reason1,effect1,...,reasonK,effectK" for each of `nRows` rows of `x`: k as opened, or
   * `kOverride` (1 to the feature count; the scoring service takes it per request).
   */
  explain(x: Float32Array, nRows: number, kOverride?: number, texts?: string[][]): Promise<Buffer[]>;
  /** Each row's effect per feature (nRows x features, row-major): what the top-k are chosen from. */
  contributions(x: Float32Array, nRows: number, texts?: string[][]): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Opens an explainer graph (explainerForOnnx). With `categorical` features (the model's string
 * inputs), rows come as the model takes them: `x` holds the numeric features only, and `texts`
 * each categorical feature's text per row; the contributions cover every feature, in feature order.
 */
export async function openRowExplainer(
  graph: Uint8Array,
  features: string[],
  k: number,
  categorical: string[] = [],
): Promise<RowExplainer> {
  const runtime = require('onnxruntime-node') as typeof ort;
  const session = await runtime.InferenceSession.create(graph, { intraOpNumThreads: 1 });
  const F = features.length;
  const nNumeric = F - categorical.length;
  const numeric =
    categorical.length > 0
      ? numericInputsOf(session.inputMetadata, nNumeric, categorical)
      : [{ name: EXPLAIN_INPUT, offset: 0, width: F }];
  if (!numeric) {
    await session.release();
    throw new ScoringError(
      'NotExplainable',
      `The explainer does not take the model's inputs (${nNumeric} numeric features and ${categorical.join(', ')} as text).`,
    );
  }
  // Each feature's name as a CSV field, quoted where it needs to be, with its leading comma.
  const names = features.map((f) => Buffer.from(`,${stringify([[f]]).slice(0, -1)}`));
  const contributions = async (
    x: Float32Array,
    nRows: number,
    texts: string[][] = [],
  ): Promise<Float32Array> => {
    const feeds: Record<string, ort.Tensor> = {};
    addNumericFeeds(runtime, feeds, numeric, x, nRows, nNumeric);
    addTextFeeds(runtime, feeds, categorical, texts, nRows);
    const result = await session.run(feeds, [EXPLAIN_CONTRIBUTION]);
    return (result[EXPLAIN_CONTRIBUTION] as ort.Tensor).data as Float32Array;
  };
  return {
    contributions,
    async explain(x, nRows, kOverride = k, texts = []) {
      const c = await contributions(x, nRows, texts);
      const out: Buffer[] = new Array(nRows);
      const top = new Int32Array(kOverride);
      for (let i = 0; i < nRows; i++) {
        topByMagnitude(c, i * F, F, top);
        const parts: Buffer[] = [];
        for (let r = 0; r < kOverride; r++) {
          const j = top[r] as number;
          parts.push(names[j] as Buffer, Buffer.from(`,${Number((c[i * F + j] as number).toPrecision(4))}`));
        }
        out[i] = Buffer.concat(parts);
      }
      return out;
    },
    release: () => session.release(),
  };
}

/** The indices of the k largest |values[offset + j]|, largest first (ties: the lower index). */
export function topByMagnitude(values: ArrayLike<number>, offset: number, n: number, top: Int32Array): void {
  const k = top.length;
  let filled = 0;
  for (let j = 0; j < n; j++) {
    const v = Math.abs(values[offset + j] as number);
    let at = filled;
    while (at > 0 && Math.abs(values[offset + (top[at - 1] as number)] as number) < v) at--;
    if (at >= k) continue;
    for (let m = Math.min(filled, k - 1); m > at; m--) top[m] = top[m - 1] as number;
    top[at] = j;
    if (filled < k) filled++;
  }
}
