import { Context } from '@temporalio/activity';
import { type BackendChoice, selectBackend } from '../domain/ml/backend';
import { type ClassWeightMode, type ClassWeights, computeClassWeights } from '../domain/ml/classWeights';
import { buildModel } from '../domain/ml/modelBuilder';
import type { ModelSpec } from '../domain/ml/modelSpec';
import { scalerFromJson } from '../domain/ml/scaler';
import { decodeSplit } from '../domain/ml/splitArtifact';
import { type EpochResult, trainModel as train } from '../domain/ml/train';
import { scaled, splitSnapshot } from '../domain/ml/trainingData';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

export interface TrainModelParams {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  target: string;
  spec: ModelSpec;
  classWeightMode: ClassWeightMode;
}

export interface TrainedModel {
  /** Weights of the final epoch (a checkpoint without further use for resuming). */
  model: ArtifactRef;
  history: EpochResult[];
  epochsRun: number;
  resumedFromEpoch: number;
  backend: BackendChoice;
  classWeights: ClassWeights;
}

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
      const context = Context.current();
      context.heartbeat();
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
      if (resumeRef)
        context.log.info(`resuming training after epoch ${previous?.epoch} from ${resumeRef.uri}`);

      const model = buildModel(params.spec, data.nFeatures);
      let last: Uint8Array | undefined;
      const result = await train({
        model,
        spec: params.spec,
        x: scaled(scaler, data.trainRaw, data.nFeatures),
        y: data.yTrain,
        nRows: data.nTrain,
        nFeatures: data.nFeatures,
        classWeights,
        resumeFrom,
        async onEpoch(epoch, checkpoint) {
          last = await checkpoint();
          const ref = await deps.store.put(last, {
            kind: 'checkpoint',
            mediaType: 'application/octet-stream',
            extension: '.ckpt',
          });
          context.heartbeat({
            epoch: epoch.epoch,
            epochs: epoch.epochs,
            loss: epoch.loss,
            checkpoint: ref,
          } satisfies TrainingHeartbeat);
        },
      });
      if (!last && resumeFrom) last = resumeFrom; // every epoch was already done before the retry
      model.dispose();
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
    });
  };
}
