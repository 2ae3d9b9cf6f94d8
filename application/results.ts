import type { WorkflowResultType } from '@temporalio/client';
import type { extractDatasetWorkflow } from '../workflows/extractDataset';
import type { importModel } from '../workflows/importModel';
import type { scheduledRetrain } from '../workflows/scheduledRetrain';
import type { trainAnomaly } from '../workflows/trainAnomaly';
import type { trainToDeploy } from '../workflows/trainToDeploy';
import type { tuneToDeploy } from '../workflows/tuneToDeploy';

/**
 * What each workflow returns, derived from the workflow function itself (never restated), for the
 * adapters that render it.
 */
export type PipelineResult = WorkflowResultType<typeof trainToDeploy>;
export type TuneResult = WorkflowResultType<typeof tuneToDeploy>;
export type ImportResult = WorkflowResultType<typeof importModel>;
export type AnomalyRunResult = WorkflowResultType<typeof trainAnomaly>;
export type ScheduledRetrainResult = WorkflowResultType<typeof scheduledRetrain>;
export type ExtractedDataset = WorkflowResultType<typeof extractDatasetWorkflow>;
/** How a run's release ended: promoted, blocked, rejected... (common to pipelines and imports). */
export type ReleaseOutcome = Pick<PipelineResult, 'outcome' | 'review' | 'promotion'>;
