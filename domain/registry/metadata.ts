import { z } from 'zod';
import { importanceSummarySchema } from '../explain/permutationImportance';
import { modelMetricsSchema } from '../ml/metrics';
import { modelSpecSchema } from '../ml/modelSpec';
import { type ArtifactKind, artifactRefSchema } from '../storage/artifactRef';
import { dataAnomalySchema } from '../validation/schemaCheck';
import { modelNameSchema } from './modelName';

/** An ArtifactRef that must be of one kind, so swapped references (scaler given as model) are caught. */
function refOfKind(kind: ArtifactKind) {
  return artifactRefSchema.refine((ref) => ref.kind === kind, {
    message: `expected an artifact reference of kind "${kind}"`,
  });
}

const count = z.number().int().nonnegative();

/**
 * Features the exported graph takes as text (a string input [N, 1] each), frequency-encoded
 * inside it: the share of training rows with that category, 0 for one never seen in training.
 */
export const categoricalFeaturesSchema = z.array(
  z.object({
    feature: z.string().min(1),
    encoding: z.literal('frequency'),
    /** Categories with a frequency in the graph. */
    seenInTraining: z.number().int().nonnegative(),
  }),
);

export const trainingConfigSchema = z.object({
  modelSpec: modelSpecSchema,
  classWeights: z.object({
    /** How the weights were chosen, as the training step names it (e.g. "inverse-frequency", "none"). */
    mode: z.string().min(1),
    /** Loss weight of each class; 1/count(class) on the training split in the reference pipeline. */
    weights: z.object({ negative: z.number().nonnegative(), positive: z.number().nonnegative() }),
  }),
  split: z.object({
    /** Share of rows held out for evaluation (0.25 in the reference pipeline). */
    testFraction: z.number().gt(0).lt(1),
    seed: z.number().int(),
    stratified: z.boolean(),
    trainRows: count,
    testRows: count,
  }),
  /** Epochs that actually ran (early stopping may end before modelSpec.epochs). */
  epochsRun: count,
  /** A classifier's categorical features (--categorical); absent without any. */
  categorical: categoricalFeaturesSchema.optional(),
});
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/** A trained version has every artifact; an imported one has its ONNX file, and an evaluation if it was given data. */
export const modelArtifactsSchema = z.object({
  dataset: refOfKind('dataset').optional(),
  datasetSummary: refOfKind('dataset-summary').optional(),
  scaler: refOfKind('scaler').optional(),
  model: refOfKind('model').optional(),
  onnx: refOfKind('onnx'),
  evaluation: refOfKind('evaluation').optional(),
  /** Permutation importance of each feature, computed with the evaluation (absent before issue 29, and when not evaluated). */
  importance: refOfKind('importance').optional(),
  /** The HTML evaluation report (absent for versions registered before reports existed). */
  report: refOfKind('report').optional(),
  /** The search that chose this version's settings (`slipway tune`): every trial, its curve and end. */
  tuning: refOfKind('tuning').optional(),
});
export type ModelArtifacts = z.infer<typeof modelArtifactsSchema>;

export const onnxFactsSchema = z.object({
  /**
   * The export's parity gate (trained versions): largest |p_onnx - p_trained| over the rows
   * compared, and each engine's largest error against the exact (float64) model as a fraction of
   * its float32 rounding bound (absent on versions registered before the bound existed).
   */
  parity: z
    .object({
      maxAbsDiff: z.number().nonnegative(),
      rowsCompared: z.number().int().min(1),
      /** Rows judged against the exact model (a selection when the split is large); absent: all. */
      rowsJudged: z.number().int().min(1).optional(),
      onnxBoundUsed: z.number().nonnegative().optional(),
      trainerBoundUsed: z.number().nonnegative().optional(),
    })
    .optional(),
  /** `base64Bytes` is what the operations platform counts against `limit`. */
  size: z.object({ bytes: count, base64Bytes: count, limit: count }),
});

/** Files larger than this are refused: the file travels in the workflow input and the metadata. */
export const PIPELINE_FILE_MAX_BYTES = 64 * 1024;

/**
 * The pipeline file a run was started from (`slipway run -f`, `schedule create -f`): its path as
 * given, the sha256 of its bytes and its text, so the version says exactly what was asked for.
 */
export const pipelineFileRecordSchema = z.object({
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contents: z.string().max(PIPELINE_FILE_MAX_BYTES),
});
export type PipelineFileRecord = z.infer<typeof pipelineFileRecordSchema>;

/** The metric gate's verdict on the version (see domain/gate/metricGate.ts), each check with its figures. */
export const gateDecisionSchema = z.object({
  blessed: z.boolean(),
  checks: z.array(
    z.object({
      check: z.string().min(1),
      passed: z.boolean(),
      actual: z.number().optional(),
      limit: z.number().optional(),
      message: z.string(),
    }),
  ),
  /** The version behind the alias when the gate ran, and its figures on the same held-out rows. */
  champion: z
    .object({
      version: z.number().int().min(1),
      comparable: z.boolean(),
      metrics: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
});

/** Where an imported version came from and how it is called (its own input and output names). */
export const importFactsSchema = z.object({
  /** The URI or path the file was imported from, as the person gave it. */
  originUri: z.string().min(1),
  /** sha256 of the file's bytes as read from the origin (the stored ONNX artifact has the same). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  importedBy: z.string().min(1),
  importedAt: z.iso.datetime({ offset: true }),
  inputName: z.string().min(1),
  /** The features the file takes as text (string inputs named after them); absent when none. */
  categorical: z.array(z.string().min(1)).min(1).optional(),
  /** The output `apply` reads: the one named at import, or the file's first. */
  outputName: z.string().min(1),
  outputs: z.array(z.string().min(1)).min(1),
  opset: z.number().int().min(1),
  producer: z.string().optional(),
  /**
   * Outputs added to the file handed over so Slipway and the operations platform can read it (a
   * scikit-learn ZipMap's probability tensor, an outlier model's anomaly_score and
   * predicted_outlier); the stored ONNX artifact then has `storedSha256`, not `sha256`.
   */
  adaptation: z
    .object({
      description: z.string().min(1),
      addedOutputs: z.array(z.string().min(1)),
      storedSha256: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .optional(),
  /** The signature the file came with (`import onnx --signature`), verified before it was stored. */
  signature: z.object({ signer: z.string().min(1), signedAs: z.string() }).optional(),
  /** The labelled data it was evaluated on, when `--eval` was given. */
  evaluationSourceUri: z.string().min(1).optional(),
  /**
   * onnxruntime's output against the exact (float64) evaluation of the file's dense layers on
   * seeded rows, as the worst share of the float32 rounding bound; or why it was not checked.
   * Absent on versions imported before the check existed.
   */
  referenceCheck: z
    .discriminatedUnion('checked', [
      z.object({
        checked: z.literal(true),
        rows: z.number().int().min(1),
        denseLayers: z.number().int().min(1),
        worstBoundUsed: z.number().nonnegative(),
      }),
      z.object({ checked: z.literal(false), reason: z.string().min(1) }),
    ])
    .optional(),
});

/** Fields a pipeline provides; the registry adds name, version and registration. */
const draftShape = {
  /** Input columns in the exact order the ONNX graph expects them. */
  features: z.array(z.string().min(1)).min(1),
  target: z.string().min(1),
  /**
   * Classifier: probability at or above which a row is predicted positive (0 to 1). Anomaly: the
   * anomaly_score above which a row is an outlier (predicted_outlier = threshold - anomaly_score).
   */
  threshold: z.number().finite(),
  /** Absent on versions registered before anomaly models: a classifier. */
  kind: z.enum(['classifier', 'anomaly']).optional(),
  /** Anomaly versions: the outputs apply reads and the sign convention they follow. */
  anomaly: z
    .object({
      scoreOutput: z.string().min(1),
      outlierOutput: z.string().min(1),
      /** In words, for the model card and the operations platform's search authors. */
      convention: z.string().min(1),
      /** Share of the training rows above the threshold, when Slipway set it. */
      contamination: z.number().gt(0).lt(1).optional(),
      /**
       * Where `threshold` comes from: `contamination` (trained here), `graph` (an import: the
       * anomaly_score + predicted_outlier its graph computes, the same on every row), or `unknown`
       * (an import whose predicted_outlier is not threshold - anomaly_score for one threshold; the
       * registered 0 then describes nothing, and the graph's predicted_outlier is what flags rows).
       * Absent on versions registered before it was recorded.
       */
      thresholdFrom: z.enum(['contamination', 'graph', 'unknown']).optional(),
      /**
       * Features the exported graph takes as text (a string input [N, 1] each), frequency-encoded
       * inside it: the share of training rows with that category, 0 for one never seen in training.
       */
      categorical: categoricalFeaturesSchema.optional(),
    })
    .optional(),
  /** Absent for an imported version that was given no labelled data ("not evaluated"). */
  metrics: modelMetricsSchema.optional(),
  /** Absent for versions registered before gates existed. */
  gate: gateDecisionSchema.optional(),
  /** How Slipway trained it; absent for an imported version, which has `imported` instead. */
  training: trainingConfigSchema.optional(),
  imported: importFactsSchema.optional(),
  /** How Slipway trained an anomaly version's autoencoder (instead of `training`, which describes a classifier). */
  autoencoder: z
    .object({
      hidden: z.array(z.number().int().min(1)),
      activation: z.literal('tanh'),
      loss: z.literal('meanSquaredError'),
      epochs: z.number().int().min(1),
      batchSize: z.number().int().min(1),
      learningRate: z.number().positive(),
      seed: z.number().int(),
      split: trainingConfigSchema.shape.split,
      epochsRun: count,
      finalLoss: z.number(),
    })
    .optional(),
  /** The backend that trained the model, e.g. "native", "wasm-blas", "wasm", "cpu"; "imported" for an import. */
  backend: z.string().min(1),
  /** For BLAS backends: the BLAS build, the kernel it ran and its threads. */
  backendDetails: z.string().optional(),
  artifacts: modelArtifactsSchema,
  onnx: onnxFactsSchema,
  /** Versions of the packages that shaped the result, e.g. { "@tensorflow/tfjs": "4.22.0" }. */
  packageVersions: z.record(z.string().min(1), z.string().min(1)),
  /** Which code produced it: a git commit, or the package version plus a hash of the sources. */
  codeVersion: z.string().min(1),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  /** ISO 8601 time, passed in by the activity (domain code reads no clocks). */
  createdAt: z.iso.datetime({ offset: true }),
  /** Who started the run (a user name or a service identity). */
  createdBy: z.string().min(1),
  /** The data source as the person gave it (a path, s3:// URI or synthetic:...). */
  sourceUri: z.string().min(1),
  /**
   * Validation of the training data against the champion's before training: what it was compared
   * with and each anomaly with the policy applied (absent on versions registered before it existed).
   */
  dataValidation: z
    .object({
      champion: z.number().int().min(1).optional(),
      note: z.string().optional(),
      anomalies: z.array(dataAnomalySchema.extend({ policy: z.enum(['fail', 'review', 'warn']) })),
    })
    .optional(),
  /** The pipeline file the run was started from; absent for runs started from flags alone. */
  pipelineFile: pipelineFileRecordSchema.optional(),
  /**
   * The permutation importance of each feature (the `importance` artifact, summed up for the card
   * and comparisons): the metric, its unshuffled value, and every feature's mean drop with its
   * 95 % interval, highest first. Absent before issue 29 and for versions not evaluated.
   */
  importance: importanceSummarySchema.optional(),
  /** The search this version won (`slipway tune`); the full record is artifacts.tuning. */
  tuning: z
    .object({
      /** The parent workflow of the search; each trial ran as its child. */
      workflowId: z.string().min(1),
      method: z.enum(['grid', 'random', 'halving']),
      trials: count,
      completed: count,
      stopped: count,
      failed: count,
      bestTrial: count,
      /** The winning trial's settings, by key of the search space. */
      settings: z.record(z.string(), z.union([z.number(), z.string()])),
      /** Its validation loss at the end of training. */
      objective: z.number(),
    })
    .optional(),
};

/**
 * Features must be distinct and may not include the target: scoring matches columns by name. A
 * version is either trained here (training facts) or imported (import facts), never neither.
 */
function checkColumns(
  doc: {
    features: string[];
    target: string;
    threshold: number;
    kind?: string;
    training?: unknown;
    imported?: unknown;
    autoencoder?: unknown;
  },
  ctx: z.RefinementCtx,
): void {
  if (doc.kind !== 'anomaly' && !(doc.threshold >= 0 && doc.threshold <= 1)) {
    ctx.addIssue({
      code: 'custom',
      path: ['threshold'],
      message: `a classifier's threshold is a probability from 0 to 1, not ${doc.threshold}`,
    });
  }
  if ([doc.training, doc.imported, doc.autoencoder].filter((facts) => facts !== undefined).length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['training'],
      message:
        'a version has training facts (a classifier trained here), autoencoder facts (an anomaly version trained ' +
        'here) or import facts (imported), exactly one',
    });
  }
  const seen = new Set<string>();
  doc.features.forEach((feature, i) => {
    if (seen.has(feature)) {
      ctx.addIssue({
        code: 'custom',
        path: ['features', i],
        message: `feature "${feature}" is listed twice`,
      });
    }
    seen.add(feature);
  });
  if (seen.has(doc.target)) {
    ctx.addIssue({
      code: 'custom',
      path: ['target'],
      message: `the target "${doc.target}" is also listed as a feature`,
    });
  }
}

/** What a pipeline hands the registry for one new version. */
export const modelVersionDraftSchema = z.object(draftShape).superRefine(checkColumns);
export type ModelVersionDraft = z.infer<typeof modelVersionDraftSchema>;

/** Filled in by the registry when it commits a version. */
export const registrationSchema = z.object({
  /** The caller's key (e.g. workflow run ID + step) that makes a retried registration return this version. */
  idempotencyKey: z.string().min(1),
  /** The rendered model card, content-addressed; `cards/<version>.md` beside the metadata is a copy. */
  modelCard: refOfKind('model-card'),
});

/** Bumped when the document changes incompatibly, so old readers fail clearly instead of guessing. */
export const METADATA_SCHEMA_VERSION = 1;

/**
 * The metadata document of one registered version, stored at
 * `registry/models/<name>/versions/<NNNNNNNN>.json`. Immutable once written.
 */
export const modelVersionMetadataSchema = z
  .object({
    schemaVersion: z.literal(METADATA_SCHEMA_VERSION),
    name: modelNameSchema,
    version: z.number().int().min(1),
    ...draftShape,
    registration: registrationSchema,
  })
  .superRefine(checkColumns);
export type ModelVersionMetadata = z.infer<typeof modelVersionMetadataSchema>;
