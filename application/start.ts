import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type {
  ExtractDatasetInput,
  ImportModelInput,
  TrainAnomalyInput,
  TrainToDeployInput,
  TuneToDeployInput,
} from '../contracts/inputs';
import type { extractDatasetWorkflow } from '../workflows/extractDataset';
import type { importModel } from '../workflows/importModel';
import type { trainAnomaly } from '../workflows/trainAnomaly';
import type { trainToDeploy } from '../workflows/trainToDeploy';
import type { tuneToDeploy } from '../workflows/tuneToDeploy';
import type { TemporalAccess } from './temporal';

/**
 * Starting Slipway's workflows. Each is named by its type and typed by its function (`typeof`),
 * so arguments and results are checked against the workflow itself, with no cast; the type names
 * are the functions' names, which recorded histories and schedules refer to.
 */

/** Where this Slipway's training goes, and how long a silent training worker is trusted. */
function trainingSettings(temporal: TemporalAccess) {
  const timeout = temporal.config.env.SLIPWAY_TRAINING_HEARTBEAT_TIMEOUT;
  return {
    trainingTaskQueue: temporal.config.trainingTaskQueue,
    ...(timeout === undefined ? {} : { trainingHeartbeatTimeoutSeconds: timeout }),
  };
}

/** Starts a training-to-deployment run; its training goes to this Slipway's training queue. */
export function startPipeline(
  temporal: TemporalAccess,
  input: TrainToDeployInput,
  workflowIdPrefix = 'train',
): Promise<WorkflowHandle<typeof trainToDeploy>> {
  return temporal.client.workflow.start<typeof trainToDeploy>('trainToDeploy', {
    taskQueue: temporal.config.taskQueue,
    workflowId: `${workflowIdPrefix}-${input.modelName}-${randomUUID().slice(0, 8)}`,
    args: [{ ...input, ...trainingSettings(temporal) }],
  });
}

/** Starts a search (`slipway tune`); its trials go to this Slipway's training queue. */
export function startTune(
  temporal: TemporalAccess,
  input: TuneToDeployInput,
): Promise<WorkflowHandle<typeof tuneToDeploy>> {
  return temporal.client.workflow.start<typeof tuneToDeploy>('tuneToDeploy', {
    taskQueue: temporal.config.taskQueue,
    workflowId: `tune-${input.modelName.replace('/', '.')}-${randomUUID().slice(0, 8)}`,
    args: [{ ...input, ...trainingSettings(temporal) }],
  });
}

/** Starts an anomaly run (`slipway run --kind anomaly`). */
export function startAnomalyRun(
  temporal: TemporalAccess,
  input: TrainAnomalyInput,
): Promise<WorkflowHandle<typeof trainAnomaly>> {
  return temporal.client.workflow.start<typeof trainAnomaly>('trainAnomaly', {
    taskQueue: temporal.config.taskQueue,
    workflowId: `anomaly-${input.modelName.replace('/', '.')}-${randomUUID().slice(0, 8)}`,
    args: [input],
  });
}

/** Starts an import of a model trained elsewhere. */
export function startImport(
  temporal: TemporalAccess,
  input: ImportModelInput,
): Promise<WorkflowHandle<typeof importModel>> {
  return temporal.client.workflow.start<typeof importModel>('importModel', {
    taskQueue: temporal.config.taskQueue,
    workflowId: `import-${input.modelName.replace('/', '.')}-${randomUUID().slice(0, 8)}`,
    args: [input],
  });
}

/** Snapshots a source into object storage (extract on its own) and returns references to it. */
export async function extractDataset(temporal: TemporalAccess, input: ExtractDatasetInput) {
  const workflowId = `extract-${randomUUID()}`;
  const dataset = await temporal.client.workflow.execute<typeof extractDatasetWorkflow>(
    'extractDatasetWorkflow',
    { taskQueue: temporal.config.taskQueue, workflowId, args: [input] },
  );
  return { workflowId, dataset };
}
