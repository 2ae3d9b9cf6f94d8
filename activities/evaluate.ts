import { z } from 'zod';
import type { StepCacheInfo } from '../contracts/progress';
import {
  type Evaluation,
  type EvaluationMetrics,
  evaluateScores,
  evaluationMetricsSchema,
} from '../domain/ml/metrics';
import { predictProbabilities } from '../domain/ml/train';
import { scaled } from '../domain/ml/trainingData';
import { artifactRefSchema } from '../domain/storage/artifactRef';
import type { ArtifactStore } from '../domain/storage/artifactStore';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { disposeModel, loadTrainedModel, type ModelInputRefs } from './modelInputs';
import { recordedStep } from './recordedStep';

export type { EvaluationMetrics };

export const evaluatedModelSchema = z.object({
  evaluation: artifactRefSchema,
  metrics: evaluationMetricsSchema,
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
        outputs: (r: EvaluatedModel) => ({ evaluation: r.evaluation }),
        cache: { enabled: params.cache !== false, schema: evaluatedModelSchema },
      };
      return recordedStep(deps, step, () => evaluate(params));
    });
  };

  async function evaluate(params: EvaluateModelParams): Promise<EvaluatedModel> {
    const { model, data, scaler } = await loadTrainedModel(deps.store, params);
    try {
      const scores = await predictProbabilities(
        model,
        scaled(scaler, data.testRaw, data.nFeatures),
        data.nTest,
        data.nFeatures,
      );
      return storeEvaluation(deps.store, evaluateScores(data.yTest, scores, params.threshold));
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
