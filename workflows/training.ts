import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import type { SlipwayActivities } from '../activities';
import type { trainToDeployInputSchema } from '../contracts/inputs';
import { trainingEpochSignal } from '../contracts/messages';
import type { TrainingEpoch } from '../contracts/progress';
import { activityRetry } from './retryPolicy';

type RunParams = z.output<typeof trainToDeployInputSchema>;

/** The training activity on the training task queue, so heavy workers can scale apart from light ones. */
export function trainingActivity(
  params: Pick<RunParams, 'trainingTaskQueue' | 'trainingHeartbeatTimeoutSeconds'>,
) {
  return proxyActivities<SlipwayActivities>({
    taskQueue: params.trainingTaskQueue,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: params.trainingHeartbeatTimeoutSeconds * 1000,
    retry: activityRetry,
  }).trainModel;
}

/**
 * Keeps the epochs the training activity reports (trainingEpochSignal) in `curve.epochs`, for the
 * progress query. A resumed attempt reports from its checkpoint on; an epoch seen twice keeps the latest.
 */
export function followTrainingEpochs(curve: { epochs: TrainingEpoch[] }): void {
  setHandler(trainingEpochSignal, (epoch) => {
    const epochs = curve.epochs.filter((e) => e.epoch < epoch.epoch);
    epochs.push(epoch);
    curve.epochs = epochs;
  });
}
