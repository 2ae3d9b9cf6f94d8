import { defineQuery, setHandler } from '@temporalio/workflow';
import type { TrainedModel } from '../activities';
import type { TrainModelParams } from '../activities/train';
import type { TrainingEpoch } from '../contracts/progress';
import { followTrainingEpochs, trainingActivity } from './training';

export interface TuneTrialInput {
  /** 1-based trial number and 0-based halving rung, for people reading the history. */
  trial: number;
  rung: number;
  training: TrainModelParams;
  trainingTaskQueue: string;
  trainingHeartbeatTimeoutSeconds: number;
}

/** The epochs a trial has trained so far (its validation curve), while it trains. */
export const trialCurveQuery = defineQuery<TrainingEpoch[]>('trialCurve');

/**
 * One trial of a search (or one halving rung of it), a child of tuneToDeploy started on the
 * training task queue: whichever training worker polls the queue runs it. It trains with the
 * pipeline's own training activity, heartbeating checkpoints, so a killed worker's trial resumes
 * from its last epoch on another worker.
 */
export async function tuneTrial(input: TuneTrialInput): Promise<TrainedModel> {
  const curve: { epochs: TrainingEpoch[] } = { epochs: [] };
  followTrainingEpochs(curve);
  setHandler(trialCurveQuery, () => curve.epochs);
  return trainingActivity(input)(input.training);
}
