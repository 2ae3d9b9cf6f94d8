import { openAnomalyScorer } from '../scoring/anomalyScorer';
import { openBinaryScorer } from '../scoring/binaryScorer';
import {
  type Importance,
  type PermutationImportanceInput,
  permutationImportance,
} from './permutationImportance';

/**
 * Permutation importance of an ONNX file, scored by onnxruntime: the probability a classifier
 * gives (its output `outputName`, or the default apply reads), or an anomaly version's
 * anomaly_score. One session for every shuffle.
 */
export async function onnxPermutationImportance(
  options: Omit<PermutationImportanceInput, 'score'> & {
    onnx: Uint8Array;
    kind?: 'classifier' | 'anomaly';
    outputName?: string;
  },
): Promise<Importance> {
  const { onnx, kind, outputName, ...rest } = options;
  const F = rest.features.length;
  if (kind === 'anomaly') {
    const scorer = await openAnomalyScorer(onnx, F);
    try {
      return await permutationImportance({
        ...rest,
        score: async (x, n) => Float32Array.from((await scorer.score(x, n)).score),
      });
    } finally {
      await scorer.release();
    }
  }
  const scorer = await openBinaryScorer(onnx, F, outputName);
  try {
    return await permutationImportance({
      ...rest,
      score: async (x, n) => Float32Array.from(await scorer.score(x, n)),
    });
  } finally {
    await scorer.release();
  }
}
