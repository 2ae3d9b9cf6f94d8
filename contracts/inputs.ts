import { z } from 'zod';
import { visibilities } from '../domain/access/policy';
import { policyChangeSchema } from '../domain/access/policyChanges';
import { DEFAULT_TARGET_COLUMN } from '../domain/data/targetColumn';
import { driftCheckOn } from '../domain/gate/driftGate';
import { metricGateSettingsSchema } from '../domain/gate/metricGate';
import { shadowGateSettingsSchema } from '../domain/gate/shadowGate';
import { modelSpecSchema, referenceModelSpec } from '../domain/ml/modelSpec';
import { DEFAULT_SIZE_LIMIT_BYTES } from '../domain/onnx/size';
import { aliasNameSchema } from '../domain/registry/aliasName';
import { pipelineFileRecordSchema } from '../domain/registry/metadata';
import { modelNameSchema } from '../domain/registry/modelName';
import { searchSpaceProblems, tuneSettingsSchema } from '../domain/tune/searchSpace';
import { anomalyChecks } from '../domain/validation/schemaCheck';

/** A dataset source a person can type: a path, file://, s3://bucket/key, or synthetic:fraud?rows=N&seed=S. */
export const sourceUriSchema = z
  .string()
  .trim()
  .min(1, 'a source is required: a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S');

/** What a version predicts: a 0/1 label with its probability, or how unusual a row is. */
export const modelKindSchema = z.enum(['classifier', 'anomaly']).default('classifier');

/** A column name as it appears in the CSV header. */
export const columnNameSchema = z.string().trim().min(1).max(256);

export const extractDatasetInputSchema = z.object({
  source: sourceUriSchema,
  target: columnNameSchema.default(DEFAULT_TARGET_COLUMN),
  /** Feature columns in order; omitted means every column but the target, in file order. */
  features: z.array(columnNameSchema).min(1).optional(),
  /** Features holding text categories (anomaly runs): stored as codes with their dictionaries. */
  categorical: z.array(columnNameSchema).min(1).optional(),
});
export type ExtractDatasetInput = z.input<typeof extractDatasetInputSchema>;

/**
 * The one rule for categorical features, wherever they are given (`--categorical` on run, tune and
 * schedule create, the pipeline file's `categorical:`): each is named once, is one of the features
 * when the features are listed, and is not the column the run learns or is judged on (`label`:
 * the target, an anomaly run's --eval-label). Each problem has the index of the entry it is about.
 * A column missing from the file itself is found when the data is read (extraction names the row).
 */
export function categoricalProblems(input: {
  categorical?: readonly string[];
  features?: readonly string[];
  label?: string;
}): Array<{ index: number; message: string }> {
  const { categorical = [], features, label } = input;
  return categorical.flatMap((column, index) => {
    if (categorical.indexOf(column) !== index)
      return [{ index, message: `"${column}" is named twice; name each categorical feature once` }];
    if (label !== undefined && column === label)
      return [
        {
          index,
          message: `"${column}" is the label column, not a feature: a categorical feature is a text input of the model`,
        },
      ];
    if (features !== undefined && !features.includes(column))
      return [
        {
          index,
          message: `"${column}" is not one of the features (${features.join(', ')}): list it in features too, or leave features out`,
        },
      ];
    return [];
  });
}

/** Upload limit of the operations platform, counted after base64. */
const sizeLimitBytesSchema = z.number().int().positive().default(DEFAULT_SIZE_LIMIT_BYTES);

/** Whether a blessed version waits for a person, who may decide, and for how long. */
export const reviewSettingsSchema = z
  .object({
    required: z.boolean().default(false),
    /** The allow-list; the person who started the run is never their own reviewer. */
    approvers: z.array(z.string().trim().min(1)).default([]),
    /** Silence past this counts as a rejection ("timed out"). Default 7 days. */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .default(7 * 24 * 3600),
  })
  .refine((r) => !r.required || r.approvers.length > 0, {
    message: 'a review needs at least one approver: list them in gate.review.approvers (--approvers a,b)',
    path: ['approvers'],
  });

/** What a data-validation finding does to the run: stop it, make it wait for a person, or note it. */
export const anomalyPolicies = ['fail', 'review', 'warn'] as const;
export type AnomalyPolicy = (typeof anomalyPolicies)[number];

/**
 * Validation of the new snapshot against the champion's training data before training (see
 * domain/validation/schemaCheck.ts for the checks). `onAnomaly` applies to every check that
 * `checks` does not name. Default warn: findings go into the version's metadata and the run goes on.
 */
export const dataValidationSettingsSchema = z.object({
  onAnomaly: z.enum(anomalyPolicies).default('warn'),
  checks: z.partialRecord(z.enum(anomalyChecks), z.enum(anomalyPolicies)).default({}),
});

/** What stands between a trained version and the alias operations use. */
export const gateSettingsSchema = z
  .object({
    metric: metricGateSettingsSchema.prefault({}),
    review: reviewSettingsSchema.prefault({}),
    /** Move the alias when the gates pass; false registers the version and stops there. */
    promote: z.boolean().default(true),
    alias: aliasNameSchema.default('production'),
    data: dataValidationSettingsSchema.prefault({}),
  })
  .superRefine((gate, ctx) => {
    const policies = [gate.data.onAnomaly, ...Object.values(gate.data.checks)];
    if (policies.includes('review') && gate.review.approvers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'onAnomaly'],
        message:
          'a data anomaly can only wait for review when someone may review: list approvers in gate.review.approvers (--approvers a,b)',
      });
    }
  });
export type GateSettingsInput = z.input<typeof gateSettingsSchema>;

/** Everything a training-to-deployment run can be told; every field has the reference default. */
export const trainToDeployInputSchema = extractDatasetInputSchema.extend({
  modelName: modelNameSchema,
  split: z
    .object({
      testFraction: z.number().gt(0).lt(1).default(0.25),
      seed: z.number().int().min(0).default(42),
      stratify: z.boolean().default(true),
    })
    .default({ testFraction: 0.25, seed: 42, stratify: true }),
  spec: modelSpecSchema.default(referenceModelSpec),
  classWeights: z.enum(['inverse', 'balanced', 'none']).default('inverse'),
  threshold: z.number().gt(0).lt(1).default(0.5),
  opset: z.number().int().min(13).max(21).default(13),
  sizeLimitBytes: sizeLimitBytesSchema,
  createdBy: z.string().min(1).default('unknown'),
  /** Reuse the outputs of earlier steps with the same code, inputs and settings. */
  cache: z.boolean().default(true),
  gate: gateSettingsSchema.prefault({}),
  /** Task queue of the training workers (SLIPWAY_TRAINING_TASK_QUEUE on the client). */
  trainingTaskQueue: z.string().min(1).default('slipway-training'),
  /** How long a silent training worker is trusted before the attempt moves to another one. */
  trainingHeartbeatTimeoutSeconds: z
    .number()
    .int()
    .min(5)
    .max(24 * 3600)
    .default(600),
  /**
   * How long a silent worker is trusted in the steps other than training (unset: five minutes).
   * Those that run long heartbeat every few seconds; registration and the report are short.
   */
  stepHeartbeatTimeoutSeconds: z
    .number()
    .int()
    .min(5)
    .max(24 * 3600)
    .optional(),
  /** The pipeline file the run was started from (path, sha256, text), recorded with the version. */
  pipelineFile: pipelineFileRecordSchema.optional(),
});
export type TrainToDeployInput = z.input<typeof trainToDeployInputSchema>;

/**
 * `slipway tune`: a training-to-deployment run whose training is a search. Each trial trains the
 * spec with the trial's settings put in (domain/tune/searchSpace.ts); the best goes on to evaluate,
 * export, gate, register and promote as one version.
 */
export const tuneToDeployInputSchema = trainToDeployInputSchema
  .extend({ tune: tuneSettingsSchema })
  .superRefine((input, ctx) => {
    for (const problem of categoricalProblems({ ...input, label: input.target })) {
      ctx.addIssue({ code: 'custom', path: ['categorical', problem.index], message: problem.message });
    }
    for (const problem of searchSpaceProblems(input.tune.space, input.spec, input.tune.method)) {
      ctx.addIssue({ code: 'custom', path: ['tune', 'space', problem.key], message: problem.message });
    }
  });
export type TuneToDeployInput = z.input<typeof tuneToDeployInputSchema>;

/**
 * A run with no metrics to gate on (an anomaly run without --eval-label, an import without --eval):
 * a person must approve it before it is promoted, and metric thresholds have nothing to judge.
 * `run` names such a run, `need` what it lacks, `give` the option that supplies it.
 */
function refuseMetricGateWithoutMetrics(
  gate: z.output<typeof gateSettingsSchema>,
  ctx: z.RefinementCtx,
  without: { run: string; need: string; give: string },
): void {
  if (gate.promote && !gate.review.required) {
    ctx.addIssue({
      code: 'custom',
      path: ['gate', 'review'],
      message:
        `${without.run} is promoted only after a person approves it: give --approvers, ` +
        `or ${without.give} to let the metric gate judge it, or --no-promote`,
    });
  }
  if (Object.keys(gate.metric.thresholds ?? {}).length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['gate', 'metric', 'thresholds'],
      message: `metric thresholds need ${without.need}: give ${without.give} or drop the thresholds`,
    });
  }
}

/**
 * An anomaly run: a dense autoencoder on the features (no target), a threshold from the
 * contamination rate, ONNX with anomaly_score and predicted_outlier. `evalLabel` names a 0/1
 * column used only to evaluate (and, through the metric gate, to judge) the version; without
 * it the gate records "not evaluated" and a person approves.
 */
export const trainAnomalyInputSchema = z
  .object({
    source: sourceUriSchema,
    modelName: modelNameSchema,
    /** Feature columns in order; omitted means every column but the label, in file order. */
    features: z.array(columnNameSchema).min(1).optional(),
    /**
     * Features holding text categories (computer, account, event code): frequency-encoded in the
     * transform step and inside the exported graph, which takes them as string inputs.
     */
    categorical: z.array(columnNameSchema).min(1).optional(),
    evalLabel: columnNameSchema.optional(),
    contamination: z.number().gt(0).lt(0.5).default(0.01),
    split: z
      .object({
        testFraction: z.number().gt(0).lt(1).default(0.25),
        seed: z.number().int().min(0).default(42),
        stratify: z.boolean().default(true),
      })
      .default({ testFraction: 0.25, seed: 42, stratify: true }),
    spec: z
      .object({
        hidden: z.array(z.number().int().min(1).max(1024)).min(1).max(8).optional(),
        epochs: z.number().int().min(1).max(1000).optional(),
        batchSize: z.number().int().min(1).max(65536).optional(),
        learningRate: z.number().gt(0).max(1).optional(),
        seed: z.number().int().min(0).optional(),
      })
      .default({}),
    sizeLimitBytes: sizeLimitBytesSchema,
    createdBy: z.string().min(1).default('unknown'),
    cache: z.boolean().default(true),
    gate: gateSettingsSchema.prefault({}),
  })
  .superRefine((input, ctx) => {
    for (const problem of categoricalProblems({ ...input, label: input.evalLabel })) {
      ctx.addIssue({ code: 'custom', path: ['categorical', problem.index], message: problem.message });
    }
    if (input.evalLabel !== undefined) return;
    // Without a label there are no metrics to gate on (as for an import without --eval).
    refuseMetricGateWithoutMetrics(input.gate, ctx, {
      run: 'an anomaly run without --eval-label',
      need: 'a label',
      give: '--eval-label <0/1 column>',
    });
    if (driftCheckOn(input.gate.metric.drift)) {
      ctx.addIssue({
        code: 'custom',
        path: ['gate', 'metric', 'drift'],
        message:
          'the drift check is part of the metric gate, which runs only with a label: give --eval-label <0/1 column> ' +
          'or drop the drift limits',
      });
    }
  });
export type TrainAnomalyInput = z.input<typeof trainAnomalyInputSchema>;

/** What a schedule starts: the pipeline to run when its source has changed. */
export const scheduledRetrainInputSchema = z
  .object({
    scheduleId: z.string().min(1),
    /**
     * data-change (default): retrain whenever the source's bytes changed since the newest version.
     * drift: only when they changed AND the newest batch the champion scored with `apply --monitor`
     * drifted from its training data; the reason goes into the audit log.
     */
    retrainOn: z.enum(['data-change', 'drift']).default('data-change'),
    /** The pipeline to run, as `slipway run` would start it (its gates included). */
    pipeline: trainToDeployInputSchema.optional(),
    /** Instead of `pipeline`: an anomaly model's run, as `slipway run --kind anomaly` would start it. */
    anomaly: trainAnomalyInputSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if ((input.pipeline === undefined) === (input.anomaly === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline'],
        message: 'a schedule runs exactly one of pipeline (a classifier) or anomaly (an anomaly model)',
      });
    }
  });
export type ScheduledRetrainInput = z.input<typeof scheduledRetrainInputSchema>;

/** Why an import refuses the settings that judge training data (the CLI says the same of its flags). */
export const IMPORT_HAS_NO_TRAINING_DATA = (what: string) =>
  `${what} checks the data a version is trained on against the champion's training data; an import trains ` +
  'nothing here (--eval data is only scored), so there is nothing to check. Drop it; to compare data with what ' +
  'production was trained on, run `slipway drift <model>@production --input <csv>`.';

/** Everything an import can be told: the file, what it takes and gives, and the same gates as a trained model. */
export const importModelInputSchema = z
  .object({
    /** Path (absolute), file:// or s3:// URI of the .onnx file. */
    source: sourceUriSchema,
    modelName: modelNameSchema,
    /** The input columns in the file's input order. */
    features: z.array(columnNameSchema).min(1),
    /** A classifier's 0/1 label; an anomaly version's defaults to "predicted_outlier" (what its search reads). */
    target: columnNameSchema,
    /** classifier (a probability of class 1) or anomaly (anomaly_score and predicted_outlier). */
    kind: modelKindSchema,
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** The output apply reads; default the file's first. */
    outputName: z.string().min(1).optional(),
    opsetMin: z.number().int().min(1).optional(),
    sizeLimitBytes: sizeLimitBytesSchema,
    /** Labelled data (same sources as training) to evaluate the file on; feeds the metric gate. */
    evaluation: sourceUriSchema.optional(),
    /** An anomaly import's 0/1 column of the evaluation data (its `target` is what its search reads). */
    evalLabel: columnNameSchema.optional(),
    /** The file's signature (an OpenSSF model-signing bundle, as text), checked before the file is stored. */
    signature: z
      .string()
      .min(1)
      .max(256 * 1024)
      .optional(),
    createdBy: z.string().min(1).default('unknown'),
    cache: z.boolean().default(true),
    gate: gateSettingsSchema.prefault({}),
  })
  .superRefine((input, ctx) => {
    // Both compare the data a version was trained on with its champion's; an imported file was
    // trained elsewhere, and its --eval data is only scored, never trained on.
    if (input.gate.data.onAnomaly !== 'warn' || Object.keys(input.gate.data.checks).length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['gate', 'data'],
        message: IMPORT_HAS_NO_TRAINING_DATA('data validation (--on-anomaly, gate.data)'),
      });
    }
    if (driftCheckOn(input.gate.metric.drift)) {
      ctx.addIssue({
        code: 'custom',
        path: ['gate', 'metric', 'drift'],
        message: IMPORT_HAS_NO_TRAINING_DATA(
          'the drift check (--max-drift-psi, --max-drift-ks, gate.metric.drift)',
        ),
      });
    }
    if (input.evalLabel !== undefined && (input.kind !== 'anomaly' || input.evaluation === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['evalLabel'],
        message:
          "--eval-label names the 0/1 column of an anomaly import's --eval data: give it with --kind anomaly and --eval " +
          '(a classifier import names its label with --target)',
      });
    }
    if (input.kind === 'anomaly' && input.evaluation !== undefined && input.evalLabel === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['evalLabel'],
        message:
          'evaluating an imported anomaly model needs the 0/1 column of the --eval data that marks anomalies: give --eval-label <column>',
      });
    }
    if (input.evaluation !== undefined) return;
    // Without data there are no metrics to gate on.
    refuseMetricGateWithoutMetrics(input.gate, ctx, {
      run: 'an import without evaluation data (--eval)',
      need: 'evaluation data',
      give: '--eval <labelled CSV>',
    });
  });
export type ImportModelInput = z.input<typeof importModelInputSchema>;

/** `slipway rollback`: move an alias back to the version its current one replaced. */
export const rollbackInputSchema = z.object({
  modelName: modelNameSchema,
  alias: aliasNameSchema.default('production'),
  actor: z.string().trim().min(1),
  reason: z.string().trim().min(1, 'a rollback needs a reason; it goes into the alias log and the audit log'),
});
export type RollbackInput = z.input<typeof rollbackInputSchema>;

/**
 * `slipway promote <model>@<version>`: a registered version moved to an alias by hand, after the
 * shadow gate when `shadow` is set (the latest serve-report of it in shadow of the alias's version).
 */
export const promoteVersionInputSchema = z.object({
  modelName: modelNameSchema,
  version: z.number().int().min(1),
  alias: aliasNameSchema.default('production'),
  actor: z.string().trim().min(1),
  reason: z
    .string()
    .trim()
    .min(1, 'a promotion by hand needs a reason; it goes into the alias log and the audit log'),
  shadow: shadowGateSettingsSchema.optional(),
});
export type PromoteVersionInput = z.input<typeof promoteVersionInputSchema>;

/**
 * `slipway namespace set`: a change to a namespace's policy by `actor`: the settings to clear, then
 * those to set; the rest of the policy is kept (domain/access/policyChanges.ts).
 */
export const namespacePolicyChangeInputSchema = z.object({
  namespace: z.string().trim().min(1),
  people: policyChangeSchema.shape.set,
  clear: policyChangeSchema.shape.clear,
  actor: z.string().trim().min(1),
});
export type NamespacePolicyChangeInput = z.input<typeof namespacePolicyChangeInputSchema>;

/** `slipway share`: a model's visibility, set by `actor`. */
export const visibilityChangeInputSchema = z.object({
  model: modelNameSchema,
  visibility: z.enum(visibilities),
  actor: z.string().trim().min(1),
});
export type VisibilityChangeInput = z.input<typeof visibilityChangeInputSchema>;

/**
 * The audit record of a change made outside any workflow's own steps (a schedule changed, a run
 * cancelled, a version a scoring service refused); the audit log checks the rest of the record. Other record types are written only by
 * the steps they record.
 */
export const recordedChangeInputSchema = z
  .object({ type: z.enum(['schedule-change', 'cancellation', 'serving-refusal', 'serve-report']) })
  .loose();

/**
 * `slipway gc` and its schedule: what retention may delete (domain/gc/plan.ts has the rules).
 * Ages are milliseconds; the CLI parses "7d", "12h".
 */
export const garbageCollectionInputSchema = z.object({
  /** Decide and list only; delete nothing, record nothing. */
  dryRun: z.boolean().default(false),
  /** An object nothing needs is deleted only once it is at least this old (default one day). */
  olderThanMs: z
    .number()
    .int()
    .nonnegative()
    .default(24 * 60 * 60 * 1000),
  /** Step-cache entries are kept this long after they were recorded (default seven days). */
  cacheTtlMs: z
    .number()
    .int()
    .nonnegative()
    .default(7 * 24 * 60 * 60 * 1000),
  /** Also keep everything the newest N finished runs read or wrote (default 0). */
  keepLast: z.number().int().nonnegative().default(0),
  actor: z.string().trim().min(1),
});
export type GarbageCollectionInput = z.input<typeof garbageCollectionInputSchema>;
