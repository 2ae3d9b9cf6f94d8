import { z } from 'zod';
import { modelNameSchema } from '../domain/registry/modelName';
import { searchSpaceProblems, tuneSettingsSchema } from '../domain/tune/searchSpace';
import { categoricalProblems, trainToDeployInputSchema } from './inputs';

/**
 * The pipeline file (`slipway.yaml`): what a run needs, kept in git and reviewed like code. It is
 * made of the workflow input's own schemas (contracts/inputs.ts, domain/ml/modelSpec.ts), so a
 * setting means the same in the file, on the command line and in the workflow, and has one default.
 */
const run = trainToDeployInputSchema.shape;

/** "90", "90s", "15m", "2h", "7d" (the durations `schedule create` takes on the command line). */
export const durationTextSchema = z
  .string()
  .trim()
  .regex(/^\d+(?:\.\d+)?\s*[smhd]?$/, 'a duration is a number of seconds or e.g. 90s, 15m, 2h, 7d');

/** When `slipway schedule create -f` retrains: exactly one of a cron expression or an interval. */
export const pipelineScheduleSchema = z
  .object({
    /** Schedule ID; default retrain-<model>. */
    id: z.string().trim().min(1).optional(),
    /** Cron expression in UTC, e.g. "0 3 * * *" (03:00 daily). */
    cron: z.string().trim().min(1).optional(),
    /** Interval instead of cron, e.g. 6h, 30m, 1d. */
    every: durationTextSchema.optional(),
    /** Random delay added to each run, e.g. 5m. */
    jitter: durationTextSchema.optional(),
    /** Runs missed while the server was down are taken if within this. */
    catchupWindow: durationTextSchema.default('1h'),
    paused: z.boolean().default(false),
  })
  .refine((s) => (s.cron === undefined) !== (s.every === undefined), {
    message: 'give exactly one of cron: "<expr>" or every: <duration>',
  });
export type PipelineSchedule = z.infer<typeof pipelineScheduleSchema>;

/** The one schema of the pipeline file; the committed JSON Schema is generated from it. */
export const pipelineFileSchema = z
  .object({
    /** The file format's version: a reader of another version refuses the file instead of guessing. */
    version: z.literal(1),
    /** The registered model the run adds a version to. */
    model: modelNameSchema,
    source: run.source,
    target: run.target,
    features: run.features,
    /**
     * Features holding text categories (computer, account, ...): frequency-encoded in the
     * transform step and inside the exported graph, which takes each as a string input named
     * after it (`--categorical` on the command line). Each must be one of `features` when they are listed.
     */
    categorical: run.categorical,
    split: run.split,
    /** The network (layers) and how it is trained (optimizer, learningRate, batchSize, epochs, seed). */
    spec: run.spec,
    classWeights: run.classWeights,
    threshold: run.threshold,
    cache: run.cache,
    /** Metric gate, review and promotion. */
    gate: run.gate,
    schedule: pipelineScheduleSchema.optional(),
    /** `slipway tune -f`: the search over the spec (ignored by `run -f` and schedules). */
    tune: tuneSettingsSchema.optional(),
  })
  .superRefine((file, ctx) => {
    for (const problem of categoricalProblems({ ...file, label: file.target })) {
      ctx.addIssue({ code: 'custom', path: ['categorical', problem.index], message: problem.message });
    }
    if (!file.tune) return;
    for (const problem of searchSpaceProblems(file.tune.space, file.spec, file.tune.method)) {
      ctx.addIssue({ code: 'custom', path: ['tune', 'space', problem.key], message: problem.message });
    }
  });
export type PipelineFile = z.infer<typeof pipelineFileSchema>;

/**
 * The JSON Schema of the file, for editors (completion, and typos flagged as they are typed): every
 * object is closed (`additionalProperties: false`), as the parser refuses unknown keys too.
 */
export function pipelineFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineFileSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...closeObjects(schema),
    title: 'Slipway pipeline file',
  };
}

function closeObjects(node: unknown): Record<string, unknown> {
  if (Array.isArray(node)) return node.map(closeObjects) as unknown as Record<string, unknown>;
  if (node === null || typeof node !== 'object') return node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // Defaults and constants are values, not schemas.
    out[key] = key === 'default' || key === 'const' || key === 'enum' ? value : closeObjects(value);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}
