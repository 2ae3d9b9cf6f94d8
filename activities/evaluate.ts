import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { codeVersion } from '../config/codeVersion';
import type { StepCacheInfo } from '../contracts/progress';
import { onnxPermutationImportance } from '../domain/explain/onnxImportance';
import type { Importance } from '../domain/explain/permutationImportance';
import {
  type Evaluation,
  type EvaluationMetrics,
  evaluateScores,
  evaluationMetricsSchema,
} from '../domain/ml/metrics';
import { predictProbabilities } from '../domain/ml/train';
import { encodedFeatures, scaled } from '../domain/ml/trainingData';
import { exportDenseModel } from '../domain/onnx/exporter';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import type { ArtifactStore } from '../domain/storage/artifactStore';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { disposeModel, loadTrainedModel, type ModelInputRefs } from './modelInputs';
import { recordedStep } from './recordedStep';

export type { EvaluationMetrics };

export const evaluatedModelSchema = z.object({
  evaluation: artifactRefSchema,
  metrics: evaluationMetricsSchema,
  /** Permutation importance on the held-out rows (absent in results recorded before issue 29). */
  importance: artifactRefSchema.optional(),
});
export type EvaluatedModel = z.infer<typeof evaluatedModelSchema> & { cache?: StepCacheInfo };

export interface EvaluateModelParams extends ModelInputRefs {
  threshold: number;
  cache?: boolean;
}

/** Evaluator: scores the held-out split and stores the metrics and curves. */
export function evaluateModelActivity(deps: ActivityDeps) {
  return async function evaluateModel(params: EvaluateModelParams): Promise<EvaluatedModel> {
    return heartbeating(async () => {
      const step = {
        step: 'evaluate',
        inputs: {
          snapshot: params.snapshot,
          split: params.split,
          scaler: params.scaler,
          model: params.model,
        },
        params: { target: params.target, spec: params.spec, threshold: params.threshold },
        outputs: evaluationOutputs,
        cache: { enabled: params.cache !== false, schema: evaluatedModelSchema },
      };
      return recordedStep(deps, step, () => evaluate(params));
    });
  };

  async function evaluate(params: EvaluateModelParams): Promise<EvaluatedModel> {
    const { model, data, scaler } = await loadTrainedModel(deps.store, params);
    try {
      // The graph the export step will write. Importance runs through onnxruntime on it; the
      // export's parity gate checks it.
      // Categorical features are shuffled as their encoded values (their training frequencies),
      // through the graph without its encoders; without any, this is the exported graph itself.
      const { categorical: _encoding, ...scalerOnly } = scaler;
      const { bytes } = exportDenseModel({
        model,
        spec: params.spec,
        scaler: scalerOnly,
        threshold: params.threshold,
        metadata: {
          modelName: 'evaluation',
          features: data.features,
          target: params.target,
          producerVersion: codeVersion(),
          datasetSha256: params.snapshot.sha256,
          runId: 'evaluate',
        },
      });
      const scores = await predictProbabilities(
        model,
        scaled(scaler, data.testRaw, data.nFeatures),
        data.nTest,
        data.nFeatures,
      );
      const evaluated = await storeEvaluation(
        deps.store,
        evaluateScores(data.yTest, scores, params.threshold),
      );
      const importance = await onnxPermutationImportance({
        onnx: bytes,
        x: encodedFeatures(scaler, data.testRaw, data.nFeatures),
        nRows: data.nTest,
        features: data.features,
        labels: data.yTest,
        onProgress: () => Context.current().heartbeat(),
      });
      return { ...evaluated, importance: await storeImportance(deps.store, importance) };
    } finally {
      disposeModel(model);
    }
  }
}

/** Stores an evaluation (metrics and curves) and returns its reference with the metrics alone. */
export async function storeEvaluation(store: ArtifactStore, evaluation: Evaluation): Promise<EvaluatedModel> {
  const ref = await store.put(`${JSON.stringify(evaluation, null, 2)}\n`, {
    kind: 'evaluation',
    mediaType: 'application/json',
    extension: '.json',
  });
  const { roc: _roc, pr: _pr, ...metrics } = evaluation;
  return { evaluation: ref, metrics };
}

/** Stores a permutation-importance result (domain/explain) as an artifact of its own. */
export function storeImportance(store: ArtifactStore, importance: Importance): Promise<ArtifactRef> {
  return store.put(`${JSON.stringify(importance, null, 2)}\n`, {
    kind: 'importance',
    mediaType: 'application/json',
    extension: '.json',
  });
}

/** The evaluate step's outputs in lineage: the evaluation and, when computed, the importance. */
export function evaluationOutputs(r: { evaluation: ArtifactRef; importance?: ArtifactRef }) {
  return { evaluation: r.evaluation, ...(r.importance ? { importance: r.importance } : {}) };
}
