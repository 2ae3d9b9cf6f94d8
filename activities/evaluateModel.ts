import { Context } from '@temporalio/activity';
import { type Evaluation, evaluateScores } from '../domain/ml/metrics';
import { predictProbabilities } from '../domain/ml/train';
import { scaled } from '../domain/ml/trainingData';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { disposeModel, loadTrainedModel, type ModelInputRefs } from './modelInputs';

export type EvaluationMetrics = Omit<Evaluation, 'roc' | 'pr'>;

export interface EvaluatedModel {
  evaluation: ArtifactRef;
  metrics: EvaluationMetrics;
}

/** Evaluator: scores the held-out split and stores the metrics and curves. */
export function evaluateModelActivity(deps: ActivityDeps) {
  return async function evaluateModel(
    params: ModelInputRefs & { threshold: number },
  ): Promise<EvaluatedModel> {
    return withFailureMapping(async () => {
      Context.current().heartbeat();
      const { model, data, scaler } = await loadTrainedModel(deps.store, params);
      try {
        const scores = await predictProbabilities(
          model,
          scaled(scaler, data.testRaw, data.nFeatures),
          data.nTest,
          data.nFeatures,
        );
        const evaluation = evaluateScores(data.yTest, scores, params.threshold);
        const ref = await deps.store.put(`${JSON.stringify(evaluation, null, 2)}\n`, {
          kind: 'evaluation',
          mediaType: 'application/json',
          extension: '.json',
        });
        const { roc: _roc, pr: _pr, ...metrics } = evaluation;
        return { evaluation: ref, metrics };
      } finally {
        disposeModel(model);
      }
    });
  };
}
