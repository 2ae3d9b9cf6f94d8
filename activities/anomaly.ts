import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { codeVersion } from '../config/codeVersion';
import { onnxPermutationImportance } from '../domain/explain/onnxImportance';
import { anomalyEvaluationSchema, evaluateAnomalyScores } from '../domain/ml/anomalyEvaluation';
import {
  type AutoencoderSpec,
  autoencoderSpecSchema,
  contaminationThreshold,
  decodeAutoencoder,
  encodeAutoencoder,
  reconstructionErrors,
  trainAutoencoder,
} from '../domain/ml/autoencoder';
import { encodeCategories } from '../domain/ml/categoricalEncoding';
import { evaluationMetricsSchema } from '../domain/ml/metrics';
import { scalerFromJson } from '../domain/ml/scaler';
import { decodeSplit } from '../domain/ml/splitArtifact';
import { splitSnapshot } from '../domain/ml/trainingData';
import { buildAnomalyOnnx, checkAnomalyParity } from '../domain/onnx/anomalyExporter';
import { sizeReportSchema } from '../domain/onnx/size';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { evaluationOutputs, storeImportance } from './evaluate';
import { heartbeating } from './heartbeat';
import { onnxExportStep, storeGatedOnnx } from './onnxExportStep';
import { recordedStep } from './recordedStep';

/** The refs every anomaly step reads: the snapshot (its label column only for evaluation), split and scaler. */
export interface AnomalyDataRefs {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  /** The snapshot's 0/1 column (--eval-label); training never reads it. */
  label: string;
}

/**
 * The split rows as the snapshot holds them (`data`: categorical cells as codes, which
 * reconstructionErrors and the export's parity gate take) and, in `encoded`, with the transform's
 * categorical encoding applied (what the network sees before scaling); the same arrays when no
 * feature is categorical.
 */
async function loadData(deps: ActivityDeps, refs: AnomalyDataRefs) {
  const [snapshot, split, scalerJson] = await Promise.all([
    deps.store.getBytes(refs.snapshot),
    deps.store.getBytes(refs.split),
    deps.store.getBytes(refs.scaler),
  ]);
  const data = splitSnapshot(snapshot, refs.label, decodeSplit(split));
  const scaler = scalerFromJson(scalerJson.toString('utf8'));
  const encoding = scaler.categorical?.columns.length ? scaler.categorical : undefined;
  const encoded = encoding
    ? {
        ...data,
        trainRaw: encodeCategories(encoding, data.trainRaw, data.nFeatures),
        testRaw: encodeCategories(encoding, data.testRaw, data.nFeatures),
      }
    : data;
  return { data, encoded, scaler };
}

const trainedAnomalySchema = z.object({
  model: artifactRefSchema,
  threshold: z.number(),
  /** The spec with its defaults filled in, as trained. */
  spec: autoencoderSpecSchema,
  history: z.array(z.object({ epoch: z.number().int(), loss: z.number() })),
});
export type TrainedAnomalyModel = z.infer<typeof trainedAnomalySchema>;

export interface TrainAnomalyParams extends AnomalyDataRefs {
  spec: z.input<typeof autoencoderSpecSchema>;
  contamination: number;
  cache?: boolean;
}

/**
 * Trainer of an anomaly version: a dense autoencoder on the scaled training rows (labels are
 * not read), then the threshold that flags `contamination` of those rows, stored with the model.
 */
export function trainAnomalyModelActivity(deps: ActivityDeps) {
  return async function trainAnomalyModel(params: TrainAnomalyParams): Promise<TrainedAnomalyModel> {
    return heartbeating(async () => {
      const spec: AutoencoderSpec = autoencoderSpecSchema.parse(params.spec);
      const step = {
        step: 'train',
        inputs: { snapshot: params.snapshot, split: params.split, scaler: params.scaler },
        params: { kind: 'anomaly', spec, contamination: params.contamination },
        outputs: (r: TrainedAnomalyModel) => ({ model: r.model }),
        cache: { enabled: params.cache !== false, schema: trainedAnomalySchema },
      };
      return recordedStep(deps, step, async () => {
        const { data, encoded, scaler } = await loadData(deps, params);
        const F = data.nFeatures;
        const scaledTrain = new Float64Array(data.nTrain * F);
        for (let k = 0; k < scaledTrain.length; k++) {
          scaledTrain[k] =
            ((encoded.trainRaw[k] as number) - (scaler.mean[k % F] as number)) /
            (scaler.std[k % F] as number);
        }
        const { weights, history } = trainAutoencoder(scaledTrain, data.nTrain, F, spec, () =>
          Context.current().heartbeat(),
        );
        const trainScores = reconstructionErrors(weights, scaler, data.trainRaw, data.nTrain);
        const threshold = contaminationThreshold(trainScores, params.contamination);
        const model = await deps.store.put(encodeAutoencoder(weights), {
          kind: 'model',
          mediaType: 'application/json',
          extension: '.json',
        });
        return { model, threshold, history, spec };
      });
    });
  };
}

const evaluatedAnomalySchema = z.object({
  evaluation: artifactRefSchema,
  summary: anomalyEvaluationSchema.pick({ threshold: true, quantiles: true, flaggedShare: true }),
  /** Present when the data has a label column: the metrics the gate judges. */
  metrics: evaluationMetricsSchema.optional(),
  /** Permutation importance on the held-out rows (absent in results recorded before issue 29). */
  importance: artifactRefSchema.optional(),
});
export type EvaluatedAnomalyModel = z.infer<typeof evaluatedAnomalySchema>;

export interface EvaluateAnomalyParams extends AnomalyDataRefs {
  model: ArtifactRef;
  threshold: number;
  contamination: number;
  /** Judge against the label column (--eval-label); false: the label is only a placeholder. */
  labelled: boolean;
  cache?: boolean;
}

/** Evaluator of an anomaly version: scores the held-out rows with the exact model (see anomalyEvaluation.ts). */
export function evaluateAnomalyModelActivity(deps: ActivityDeps) {
  return async function evaluateAnomalyModel(params: EvaluateAnomalyParams): Promise<EvaluatedAnomalyModel> {
    return heartbeating(async () => {
      const { snapshot, split, scaler, model, cache, ...keyed } = params;
      const step = {
        step: 'evaluate',
        inputs: { snapshot, split, scaler, model },
        params: keyed,
        outputs: evaluationOutputs,
        cache: { enabled: cache !== false, schema: evaluatedAnomalySchema },
      };
      return recordedStep(deps, step, async () => {
        const { data, encoded, scaler: fitted } = await loadData(deps, params);
        const weights = decodeAutoencoder((await deps.store.getBytes(params.model)).toString('utf8'));
        const evaluation = evaluateAnomalyScores({
          testScores: reconstructionErrors(weights, fitted, data.testRaw, data.nTest),
          trainScores: reconstructionErrors(weights, fitted, data.trainRaw, data.nTrain),
          threshold: params.threshold,
          contamination: params.contamination,
          // A categorical feature shows as its encoded value (its training frequency).
          testRaw: encoded.testRaw,
          features: data.features,
          ...(params.labelled ? { labels: { name: params.label, y: data.yTest } } : {}),
        });
        const ref = await deps.store.put(`${JSON.stringify(evaluation, null, 2)}\n`, {
          kind: 'evaluation',
          mediaType: 'application/json',
          extension: '.json',
        });
        // Importance through onnxruntime on the graph the export step writes (built in memory
        // here; threshold and metadata do not change anomaly_score). With --eval-label the drop
        // in PR-AUC, without it the mean change of anomaly_score (domain/explain). Categorical
        // features are shuffled as their encoded values, through the graph without its encoders.
        const { categorical: _encoding, ...scalerOnly } = fitted;
        const onnxBytes = buildAnomalyOnnx({
          weights,
          scaler: scalerOnly,
          threshold: params.threshold,
          modelName: 'evaluation',
          producerVersion: codeVersion(),
          datasetSha256: params.snapshot.sha256,
          runId: 'evaluate',
        });
        const importance = await onnxPermutationImportance({
          onnx: onnxBytes,
          kind: 'anomaly',
          x: encoded.testRaw,
          nRows: data.nTest,
          features: data.features,
          ...(params.labelled ? { labels: data.yTest } : {}),
          onProgress: () => Context.current().heartbeat(),
        });
        return {
          evaluation: ref,
          importance: await storeImportance(deps.store, importance),
          summary: {
            threshold: evaluation.threshold,
            quantiles: evaluation.quantiles,
            flaggedShare: evaluation.flaggedShare,
          },
          ...(evaluation.labelled ? { metrics: evaluation.labelled.metrics } : {}),
        };
      });
    });
  };
}

const exportedAnomalySchema = z.object({
  onnx: artifactRefSchema,
  parity: z.object({
    rowsCompared: z.number().int(),
    maxAbsDiff: z.number(),
    worstToleranceUsed: z.number(),
    flagDifferences: z.number().int(),
  }),
  size: sizeReportSchema,
});
export type ExportedAnomalyOnnx = z.infer<typeof exportedAnomalySchema>;

export interface ExportAnomalyParams extends AnomalyDataRefs {
  model: ArtifactRef;
  threshold: number;
  modelName: string;
  runId: string;
  sizeLimitBytes: number;
  cache?: boolean;
}

/** ONNX export of an anomaly version behind its parity gate (held-out rows) and the upload limit. */
export function exportAnomalyOnnxActivity(deps: ActivityDeps) {
  return async function exportAnomalyOnnx(params: ExportAnomalyParams): Promise<ExportedAnomalyOnnx> {
    return heartbeating(() =>
      recordedStep(deps, onnxExportStep(params, exportedAnomalySchema), async () => {
        const { data, scaler: fitted } = await loadData(deps, params);
        const weights = decodeAutoencoder((await deps.store.getBytes(params.model)).toString('utf8'));
        const bytes = buildAnomalyOnnx({
          weights,
          scaler: fitted,
          threshold: params.threshold,
          modelName: params.modelName,
          producerVersion: codeVersion(),
          datasetSha256: params.snapshot.sha256,
          runId: params.runId,
        });
        return storeGatedOnnx(deps, bytes, params.sizeLimitBytes, () =>
          checkAnomalyParity(bytes, weights, fitted, params.threshold, data.testRaw, data.nTest),
        );
      }),
    );
  };
}
