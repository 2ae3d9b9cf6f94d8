import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { ModelAccess } from '../domain/access/modelAccess';
import { readSnapshot } from '../domain/data/snapshot';
import { onnxPermutationImportance } from '../domain/explain/onnxImportance';
import { checkImportedOnnx } from '../domain/import/checkImportedOnnx';
import { OnnxImportError } from '../domain/import/errors';
import { judgeImportSignature } from '../domain/import/importSignature';
import { readOnnxSource } from '../domain/import/readOnnxSource';
import type { ModelKind } from '../domain/import/sklearnOutputs';
import { evaluateScores } from '../domain/ml/metrics';
import { sizeReportSchema } from '../domain/onnx/size';
import { importFactsSchema } from '../domain/registry/metadata';
import { parseModelName } from '../domain/registry/modelName';
import { ModelRegistry } from '../domain/registry/registry';
import { scoreAnomalyMatrix } from '../domain/scoring/anomalyScorer';
import { scoreMatrix } from '../domain/scoring/binaryScorer';
import { installationPublicKey } from '../domain/signing/installationKey';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import type { ActivityDeps } from './deps';
import {
  type EvaluatedModel,
  evaluatedModelSchema,
  evaluationOutputs,
  storeEvaluation,
  storeImportance,
} from './evaluate';
import { heartbeating } from './heartbeat';
import { recordedStep } from './recordedStep';

export interface ImportOnnxParams {
  /** Path, file:// or s3:// URI of the .onnx file. */
  source: string;
  modelName: string;
  features: string[];
  outputName?: string;
  opsetMin?: number;
  sizeLimitBytes: number;
  importedBy: string;
  /** Absent on workflows started before anomaly models: a classifier. */
  kind?: ModelKind;
  /** The file's signature bundle (text), when one was given. */
  signature?: string;
}

const importedOnnxSchema = z.object({
  onnx: artifactRefSchema,
  origin: z.object({ uri: z.string(), sha256: z.string(), bytes: z.number(), readAt: z.string() }),
  /** Who signed the file, when it came with a signature that verified. */
  signature: z.object({ signer: z.string(), signedAs: z.string() }).optional(),
  facts: importFactsSchema.pick({
    inputName: true,
    categorical: true,
    outputName: true,
    outputs: true,
    opset: true,
    producer: true,
    referenceCheck: true,
    adaptation: true,
  }),
  size: sizeReportSchema,
  /**
   * An anomaly import's threshold as its graph computes it (anomaly_score + predicted_outlier on
   * every probe row); absent for a classifier, for a graph whose sum varies by row, and in results
   * recorded before it was read.
   */
  anomalyThreshold: z.number().optional(),
});
export type ImportedOnnx = z.infer<typeof importedOnnxSchema>;

/**
 * The import step: reads the file from where it was handed over, checks it (see
 * checkImportedOnnx) and only then stores it, content-addressed. Lineage records the origin URI
 * and the sha256 of the bytes read as the step's input, so a version traces back to the file.
 */
export function importOnnxActivity(deps: ActivityDeps) {
  return async function importOnnx(params: ImportOnnxParams): Promise<ImportedOnnx> {
    return heartbeating(async () => {
      // Before the recorded step: a refused signature leaves nothing in the store, not even lineage.
      await new ModelAccess(new ModelRegistry(deps.store)).assertCanImport(
        params.modelName,
        params.importedBy,
      );
      const signature = await checkSignature(params);
      const { source, signature: _text, ...settings } = params;
      const step = {
        step: 'import',
        inputs: {},
        params: { source, ...settings },
        outputs: (r: ImportedOnnx) => ({ onnx: r.onnx }),
        resultInputs: (r: ImportedOnnx) => ({
          file: {
            uri: r.origin.uri,
            sha256: r.origin.sha256,
            bytes: r.origin.bytes,
            kind: 'source' as const,
          },
        }),
        // The origin may change under the same URI; every import reads it afresh.
        cache: { enabled: false, schema: importedOnnxSchema },
      };
      return recordedStep(deps, step, async () => ({
        ...(await importFile(params)),
        ...(signature?.signer
          ? { signature: { signer: signature.signer, signedAs: signature.signedAs ?? '' } }
          : {}),
      }));
    });
  };

  function readFile(params: ImportOnnxParams) {
    return readOnnxSource(params.source, {
      // Only a memory bound: the upload limit is checked next, with a message about the model.
      maxBytes: Math.max(64 * 1024 * 1024, params.sizeLimitBytes * 4),
      s3: deps.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(deps.config) : undefined,
    });
  }

  /** The file against its signature and the namespace's policy (checked by the CLI first, and again here). */
  async function checkSignature(params: ImportOnnxParams) {
    const policy = await new ModelAccess(new ModelRegistry(deps.store)).policy(
      parseModelName(params.modelName).namespace,
    );
    if (params.signature === undefined && !policy?.requireSignedImports) return undefined;
    const file = await readFile(params);
    const ownKey = await installationPublicKey(deps.config.modelSigningKeyPath);
    return judgeImportSignature(policy, file, params.signature, ownKey);
  }

  async function importFile(params: ImportOnnxParams): Promise<ImportedOnnx> {
    const readAt = new Date().toISOString();
    const file = await readFile(params);
    const facts = await checkImportedOnnx(file.bytes, {
      features: params.features,
      outputName: params.outputName,
      opsetMin: params.opsetMin,
      sizeLimitBytes: params.sizeLimitBytes,
      kind: params.kind,
    });
    // The checked bytes: the file itself, or with outputs added (facts.adaptation says which).
    const onnx = await deps.store.put(facts.bytes, {
      kind: 'onnx',
      mediaType: 'application/onnx',
      extension: '.onnx',
    });
    const { size, irVersion: _ir, bytes: _bytes, adaptation, anomalyThreshold, ...named } = facts;
    return {
      onnx,
      ...(anomalyThreshold !== undefined ? { anomalyThreshold } : {}),
      origin: { uri: file.uri, sha256: file.sha256, bytes: file.bytes.length, readAt },
      facts: {
        ...named,
        ...(adaptation ? { adaptation: { ...adaptation, storedSha256: onnx.sha256 } } : {}),
      },
      size,
    };
  }
}

export interface EvaluateImportedParams {
  onnx: ArtifactRef;
  outputName: string;
  /** The evaluation data, extracted with the model's features in order and its target. */
  snapshot: ArtifactRef;
  target: string;
  features: string[];
  /** A classifier's probability threshold; an anomaly model's anomaly_score threshold. */
  threshold: number;
  /** 'anomaly': scored by anomaly_score (higher is more anomalous) against the label column. */
  kind?: 'anomaly';
  cache?: boolean;
}

/**
 * Evaluator for an imported file: scores every row of the labelled data given with --eval. An
 * anomaly model is judged by its anomaly_score against the label (ROC-AUC, PR-AUC; a row is
 * predicted positive when its score is at or above the threshold), as a trained one with
 * --eval-label is.
 */
export function evaluateImportedActivity(deps: ActivityDeps) {
  return async function evaluateImported(params: EvaluateImportedParams): Promise<EvaluatedModel> {
    return heartbeating(async () => {
      const step = {
        step: 'evaluate',
        inputs: { snapshot: params.snapshot, onnx: params.onnx },
        params: {
          target: params.target,
          outputName: params.outputName,
          threshold: params.threshold,
          ...(params.kind ? { kind: params.kind } : {}),
        },
        outputs: evaluationOutputs,
        cache: { enabled: params.cache !== false, schema: evaluatedModelSchema },
      };
      return recordedStep(deps, step, async () => {
        const [onnxBytes, snapshotBytes] = await Promise.all([
          deps.store.getBytes(params.onnx),
          deps.store.getBytes(params.snapshot),
        ]);
        const data = readSnapshot(snapshotBytes, params.target);
        if (data.features.join('\n') !== params.features.join('\n')) {
          throw new OnnxImportError(
            'InvalidImportInput',
            `The evaluation data's columns (${data.features.join(', ')}) are not the model's features in order ` +
              `(${params.features.join(', ')}).`,
          );
        }
        const anomaly = params.kind === 'anomaly';
        const scores = anomaly
          ? (await scoreAnomalyMatrix(onnxBytes, data.x, data.nRows, data.nCols)).score
          : await scoreMatrix(onnxBytes, data.x, data.nRows, data.nCols, { outputName: params.outputName });
        const evaluated = await storeEvaluation(deps.store, evaluateScores(data.y, scores, params.threshold));
        const importance = await onnxPermutationImportance({
          onnx: onnxBytes,
          ...(anomaly ? { kind: 'anomaly' as const } : { outputName: params.outputName }),
          x: data.x,
          nRows: data.nRows,
          features: data.features,
          labels: data.y,
          onProgress: () => Context.current().heartbeat(),
        });
        return { ...evaluated, importance: await storeImportance(deps.store, importance) };
      });
    });
  };
}
