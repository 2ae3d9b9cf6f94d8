import { CancelledFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { type BackendChoice, backendNames, selectBackend } from '../domain/ml/backend';
import { type ClassWeightMode, type ClassWeights, computeClassWeights } from '../domain/ml/classWeights';
import { buildModel } from '../domain/ml/modelBuilder';
import type { ModelSpec } from '../domain/ml/modelSpec';
import { scalerFromJson } from '../domain/ml/scaler';
import { decodeSplit } from '../domain/ml/splitArtifact';
import { type EpochResult, trainModel as fit } from '../domain/ml/train';
import { scaled, splitSnapshot } from '../domain/ml/trainingData';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import { trainingEpochSignal } from '../workflows/messages';
import type { TrainingEpoch } from '../workflows/progress';
import type { StepCacheInfo } from './cachedStep';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { recordedStep } from './recordedStep';

export interface TrainModelParams {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  target: string;
  spec: ModelSpec;
  classWeightMode: ClassWeightMode;
  cache?: boolean;
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
export type TrainedModel = {
  model: ArtifactRef;
  history: EpochResult[];
  epochsRun: number;
  resumedFromEpoch: number;
  backend: BackendChoice;
  classWeights: ClassWeights;
  cache?: StepCacheInfo;
};

/** What every heartbeat carries, so a retried attempt on another worker resumes from it. */
export interface TrainingHeartbeat {
  epoch: number;
  epochs: number;
  loss: number;
  checkpoint: ArtifactRef;
}

/** Trainer: class-weighted training that heartbeats each epoch with a stored checkpoint. */
export function trainModelActivity(deps: ActivityDeps) {
  return async function trainModel(params: TrainModelParams): Promise<TrainedModel> {
    return withFailureMapping(async () => {
      Context.current().heartbeat();
      const step = {
        step: 'train',
        inputs: { snapshot: params.snapshot, split: params.split, scaler: params.scaler },
        params: { target: params.target, spec: params.spec, classWeightMode: params.classWeightMode },
        outputs: (r: TrainedModel) => ({ model: r.model }),
        cache: { enabled: params.cache !== false, schema: trainedModelSchema as z.ZodType<TrainedModel> },
      };
      return recordedStep(deps, step, () => train(params));
    });
  };

  async function train(params: TrainModelParams): Promise<TrainedModel> {
    // Heartbeat between epochs too (data loading, a slow epoch on a busy machine), re-sending the
    // last checkpoint: a bare heartbeat() would clear the details a retry resumes from.
    const context = Context.current();
    let lastBeat: TrainingHeartbeat | undefined;
    const keepAlive = setInterval(() => context.heartbeat(lastBeat), 2_000);
    try {
      return await trainWithHeartbeats(params, (beat) => {
        lastBeat = beat;
      });
    } finally {
      clearInterval(keepAlive);
    }
  }

  async function trainWithHeartbeats(
    params: TrainModelParams,
    setBeat: (beat: TrainingHeartbeat | undefined) => void,
  ): Promise<TrainedModel> {
    const context = Context.current();
    const backend = await selectBackend();
    context.log.info(`training on ${backend.name}: ${backend.reason}`);
    const [snapshot, splitBytes, scalerBytes] = await Promise.all([
      deps.store.getBytes(params.snapshot),
      deps.store.getBytes(params.split),
      deps.store.getBytes(params.scaler),
    ]);
    const data = splitSnapshot(snapshot, params.target, decodeSplit(splitBytes));
    const scaler = scalerFromJson(scalerBytes.toString('utf8'));
    const classWeights = computeClassWeights(data.yTrain, params.classWeightMode);

    const previous = context.info.heartbeatDetails as TrainingHeartbeat | undefined;
    const resumeRef = previous?.checkpoint ? artifactRefSchema.parse(previous.checkpoint) : undefined;
    const resumeFrom = resumeRef ? await deps.store.getBytes(resumeRef) : undefined;
    if (resumeRef) context.log.info(`resuming training after epoch ${previous?.epoch} from ${resumeRef.uri}`);

    const model = buildModel(params.spec, data.nFeatures);
    let last: Uint8Array | undefined;
    setBeat(previous?.checkpoint ? previous : undefined);
    const result = await fitOrDispose(model, {
      model,
      spec: params.spec,
      x: scaled(scaler, data.trainRaw, data.nFeatures),
      y: data.yTrain,
      nRows: data.nTrain,
      nFeatures: data.nFeatures,
      classWeights,
      // The held-out split gives the per-epoch validation curve people watch; it never
      // influences the weights (no early stopping here).
      validation: { x: scaled(scaler, data.testRaw, data.nFeatures), y: data.yTest, nRows: data.nTest },
      resumeFrom,
      async onEpoch(epoch, checkpoint) {
        // A cancelled run (`slipway cancel`) stops training at the next epoch; the heartbeat
        // of the one before delivered the cancellation.
        if (context.cancellationSignal.aborted) throw cancelledTraining(context, epoch.epoch);
        last = await checkpoint();
        const ref = await deps.store.put(last, {
          kind: 'checkpoint',
          mediaType: 'application/octet-stream',
          extension: '.ckpt',
        });
        const beat = { epoch: epoch.epoch, epochs: epoch.epochs, loss: epoch.loss, checkpoint: ref };
        setBeat(beat);
        context.heartbeat(beat);
        await reportEpoch(context, epoch);
      },
    });
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
      backend,
      classWeights,
    };
  }
}

/** Trains, and frees the model's tensors whether training ends, fails or is cancelled. */
async function fitOrDispose(model: { dispose(): void }, options: Parameters<typeof fit>[0]) {
  try {
    return await fit(options);
  } finally {
    model.dispose();
  }
}

function cancelledTraining(context: Context, epoch: number): Error {
  const reason = context.cancellationSignal.reason;
  return reason instanceof Error
    ? reason
    : new CancelledFailure(`training cancelled after epoch ${epoch - 1}`);
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
