import { openAnomalyScorer } from '../scoring/anomalyScorer';
import { openBinaryScorer } from '../scoring/binaryScorer';
import {
  type Importance,
  type PermutationImportanceInput,
  permutationImportance,
} from './permutationImportance';

const BATCH_ROWS = 1024;

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
  // One intra-op thread and 1,024 rows per call: the lowest CPU per row measured for apply's
  // chunk threads (domain/scoring/scoreCsv.ts), and no spinning threads on a busy worker.
  const scorer = await openBinaryScorer(onnx, F, outputName, { intraOpThreads: 1 });
  try {
    return await permutationImportance({
      ...rest,
      score: async (x, n) => {
        const out = new Float32Array(n);
        for (let from = 0; from < n; from += BATCH_ROWS) {
          const rows = Math.min(BATCH_ROWS, n - from);
          out.set(await scorer.score(x.subarray(from * F, (from + rows) * F), rows), from);
        }
        return out;
      },
    });
  } finally {
    await scorer.release();
  }
}
