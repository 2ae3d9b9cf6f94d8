import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { trainingEpochSignal } from '../contracts/messages';
import type { StepCacheInfo, TrainingEpoch } from '../contracts/progress';
import { backendNames } from '../domain/ml/backend';
import type { ClassWeightMode } from '../domain/ml/classWeights';
import type { ModelSpec } from '../domain/ml/modelSpec';
import type { EpochResult } from '../domain/ml/train';
import { trainInThread } from '../domain/ml/trainInThread';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { recordedStep } from './recordedStep';

export interface TrainModelParams {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  target: string;
  spec: ModelSpec;
  classWeightMode: ClassWeightMode;
  cache?: boolean;
  /**
   * A trained model (a checkpoint) to continue: training goes on after its last epoch up to
   * spec.epochs, exactly as if it had never stopped. Successive halving continues its survivors so.
   */
  resumeFrom?: ArtifactRef;
}

const epochResultSchema = z.object({
  epoch: z.number(),
  epochs: z.number(),
  loss: z.number(),
  valLoss: z.number().optional(),
  valRecall: z.number().optional(),
  valPrecision: z.number().optional(),
  valFpr: z.number().optional(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
});

export const trainedModelSchema = z.object({
  /** Weights of the final epoch (a checkpoint without further use for resuming). */
  model: artifactRefSchema,
  history: z.array(epochResultSchema),
  epochsRun: z.number(),
  resumedFromEpoch: z.number(),
  backend: z.object({
    name: z.enum(backendNames),
    reason: z.string(),
    details: z.string().optional(),
  }),
  classWeights: z.object({ negative: z.number(), positive: z.number() }),
});
export type TrainedModel = z.infer<typeof trainedModelSchema> & { cache?: StepCacheInfo };

/** What every heartbeat carries, so a retried attempt on another worker resumes from it. */
export interface TrainingHeartbeat {
  epoch: number;
  epochs: number;
  loss: number;
  checkpoint: ArtifactRef;
}

/**
 * Trainer: class-weighted training in a worker thread (domain/ml/trainInThread.ts), heartbeating
 * each epoch with a stored checkpoint and reporting the epoch to the workflow.
 */
export function trainModelActivity(deps: ActivityDeps) {
  return async function trainModel(params: TrainModelParams): Promise<TrainedModel> {
    // Heartbeat between epochs too (data loading, a slow epoch on a busy machine), re-sending the
    // last checkpoint: a bare heartbeat() would clear the details a retry resumes from. Training
    // runs in its own thread, so this timer (and every query and workflow task) keeps its pace.
    // A retry starts by re-sending the checkpoint it resumes from: until its own first epoch, a
    // beat without it would clear it on the server, and a retry of this retry would start over.
    const resumed = Context.current().info.heartbeatDetails as TrainingHeartbeat | undefined;
    const beat: { last?: TrainingHeartbeat } = resumed?.checkpoint ? { last: resumed } : {};
    return heartbeating(
      async () => {
        const step = {
          step: 'train',
          inputs: {
            snapshot: params.snapshot,
            split: params.split,
            scaler: params.scaler,
            ...(params.resumeFrom ? { resumeFrom: params.resumeFrom } : {}),
          },
          params: { target: params.target, spec: params.spec, classWeightMode: params.classWeightMode },
          outputs: (r: TrainedModel) => ({ model: r.model }),
          cache: { enabled: params.cache !== false, schema: trainedModelSchema },
        };
        return recordedStep(deps, step, () => train(params, beat));
      },
      { everyMs: 2_000, details: () => beat.last },
    );
  };

  async function train(params: TrainModelParams, beat: { last?: TrainingHeartbeat }): Promise<TrainedModel> {
    const context = Context.current();
    const previous = context.info.heartbeatDetails as TrainingHeartbeat | undefined;
    // An earlier attempt's checkpoint first (it is further along), else the model asked to continue.
    const retried = previous?.checkpoint ? artifactRefSchema.parse(previous.checkpoint) : undefined;
    const resumeRef = retried ?? (params.resumeFrom ? artifactRefSchema.parse(params.resumeFrom) : undefined);
    beat.last = retried ? previous : undefined;
    const [snapshot, split, scaler, resumeFrom] = await Promise.all([
      deps.store.getBytes(params.snapshot),
      deps.store.getBytes(params.split),
      deps.store.getBytes(params.scaler),
      resumeRef ? deps.store.getBytes(resumeRef) : undefined,
    ]);
    if (resumeRef) {
      context.log.info(
        `resuming training${retried ? ` after epoch ${previous?.epoch}` : ''} from ${resumeRef.uri}`,
      );
    }

    let last: Uint8Array | undefined;
    const result = await trainInThread(
      {
        snapshot,
        split,
        scaler,
        resumeFrom,
        target: params.target,
        spec: params.spec,
        classWeightMode: params.classWeightMode,
        backend: deps.config.env.SLIPWAY_TF_BACKEND,
      },
      {
        // Cancellation, a heartbeat timeout noticed here, or worker shutdown: stop the batch at once.
        signal: context.cancellationSignal,
        onStart({ backend }) {
          context.log.info(
            `training on ${backend.name}: ${backend.reason}${backend.details ? `; ${backend.details}` : ''}`,
          );
        },
        async onEpoch(epoch, checkpoint) {
          last = checkpoint;
          const ref = await deps.store.put(checkpoint, {
            kind: 'checkpoint',
            mediaType: 'application/octet-stream',
            extension: '.ckpt',
          });
          beat.last = { epoch: epoch.epoch, epochs: epoch.epochs, loss: epoch.loss, checkpoint: ref };
          context.heartbeat(beat.last);
          await reportEpoch(context, epoch);
        },
      },
    );
    if (!last && resumeFrom) last = resumeFrom; // every epoch was already done before the retry
    if (!last) throw new Error('training ran no epoch');
    const modelRef = await deps.store.put(last, {
      kind: 'model',
      mediaType: 'application/vnd.slipway.checkpoint',
      extension: '.ckpt',
    });
    return {
      model: modelRef,
      history: result.history,
      epochsRun: result.epochsRun,
      resumedFromEpoch: result.resumedFromEpoch,
      backend: result.backend,
      classWeights: result.classWeights,
    };
  }
}

/**
 * Tells the workflow about a finished epoch, for its progress query. Best effort: progress
 * display is not worth failing (and retrying) an hour of training for.
 */
async function reportEpoch(context: Context, epoch: EpochResult): Promise<void> {
  const execution = context.info.workflowExecution;
  if (!execution) return; // run outside a workflow (a standalone activity)
  const { workflowId, runId } = execution;
  const message: TrainingEpoch = { ...epoch, attempt: context.info.attempt };
  try {
    await context.client.workflow.getHandle(workflowId, runId).signal(trainingEpochSignal, message);
  } catch (err) {
    context.log.warn(`could not report epoch ${epoch.epoch} to the workflow: ${(err as Error).message}`);
  }
}
