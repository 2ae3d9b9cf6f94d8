import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PipelineProgress, TrainingEpoch } from './progress';

/**
 * The messages of the trainToDeploy workflow, in a file of their own so the CLI and the
 * activities can name them without importing the workflow.
 */
export const progressQuery = defineQuery<PipelineProgress>('progress');

/** Sent by the training activity after every epoch, so the progress query can show the curve. */
export const trainingEpochSignal = defineSignal<[TrainingEpoch]>('trainingEpoch');
