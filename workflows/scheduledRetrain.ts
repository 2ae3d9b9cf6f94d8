import {
  ApplicationFailure,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  rootCause,
  workflowInfo,
} from '@temporalio/workflow';
import type { SlipwayActivities } from '../activities';
import { type ScheduledRetrainInput, scheduledRetrainInputSchema } from '../contracts/inputs';
import { modelEvent } from '../domain/notify/events';
import { notify } from './notify';
import { activityRetry } from './retryPolicy';
import { trainAnomaly } from './trainAnomaly';
import { type PipelineResult, trainToDeploy } from './trainToDeploy';
import { parseWorkflowInput } from './validation';

export interface ScheduledRetrainResult {
  outcome: PipelineResult['outcome'] | 'skipped';
  reason?: string;
  model: string;
  sourceSha256: string;
  version?: number;
  pipelineWorkflowId?: string;
}

const light = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: activityRetry,
});

/**
 * What a schedule starts: fingerprint the source, stop with "skipped: unchanged data" when the
 * newest version of the model was trained on these very bytes, else run the whole pipeline (same
 * gates as a manual run) as a child workflow. A failed pipeline fails this run too, so the
 * schedule's recent actions show it as failed.
 */
export async function scheduledRetrain(input: ScheduledRetrainInput): Promise<ScheduledRetrainResult> {
  const params = parseWorkflowInput(scheduledRetrainInputSchema, input, 'scheduledRetrain');
  // A classifier's pipeline or an anomaly model's run (the input holds exactly one); both name
  // their model, source and gates the same way.
  const run = (params.anomaly ?? params.pipeline) as NonNullable<
    typeof params.pipeline | typeof params.anomaly
  >;
  const model = run.modelName;
  const source = await light.fingerprintSource({ source: run.source });
  const last = await light.lastTrainedSource({ modelName: model });
  if (last && last.sourceSha256 === source.sha256) {
    return {
      outcome: 'skipped',
      reason: `unchanged data: version ${last.version} was trained on these bytes`,
      model,
      sourceSha256: source.sha256,
    };
  }
  const pipelineWorkflowId = `${workflowInfo().workflowId}-pipeline`;
  // Checked only by schedules that ask for it, so earlier runs replay without the activity.
  if (params.retrainOn === 'drift' && patched('retrain-on-drift')) {
    const drift = await light.driftTrigger({ modelName: model, alias: run.gate.alias });
    if (!drift.drifted)
      return { outcome: 'skipped', reason: drift.reason, model, sourceSha256: source.sha256 };
    await light.recordDriftRetrain({
      modelName: model,
      version: drift.version,
      scheduleId: params.scheduleId,
      reason: `retraining on ${run.source}: ${drift.reason}`,
      features: drift.features,
      at: new Date(Date.now()).toISOString(), // workflow time: deterministic on replay
      idempotencyKey: `${workflowInfo().workflowId}/${workflowInfo().runId}/drift-retrain`,
    });
    await notify(() =>
      modelEvent({
        type: 'drift.detected',
        model,
        version: drift.version,
        occurredAt: new Date(Date.now()).toISOString(),
        summary: `${drift.reason}; retraining ${model} on ${run.source}`,
        details: {
          source: 'monitor',
          features: drift.features,
          batchRecordedAt: drift.recordedAt,
          scheduleId: params.scheduleId,
        },
        workflowId: workflowInfo().workflowId,
        runId: workflowInfo().runId,
      }),
    );
  }
  try {
    // Anomaly schedules came after recorded histories; the marker keeps their command order explicit.
    const result =
      params.anomaly !== undefined && patched('scheduled-anomaly')
        ? await executeChild(trainAnomaly, { workflowId: pipelineWorkflowId, args: [params.anomaly] })
        : await executeChild(trainToDeploy, {
            workflowId: pipelineWorkflowId,
            args: [params.pipeline as NonNullable<typeof params.pipeline>],
          });
    return {
      outcome: result.outcome,
      model,
      sourceSha256: source.sha256,
      version: result.version,
      pipelineWorkflowId,
    };
  } catch (err) {
    // A cancelled run (`slipway cancel`) ends cancelled, not failed.
    if (isCancellation(err)) throw err;
    if (patched('scheduled-failure-cause')) {
      // The pipeline's own failure stays in the chain, so `schedule describe` and `status` can
      // show what went wrong (type, message, step) without opening the child run.
      throw ApplicationFailure.create({
        message: `The scheduled pipeline ${pipelineWorkflowId} failed: ${rootCause(err)}`,
        type: 'ScheduledPipelineFailed',
        nonRetryable: true,
        cause: err as Error,
      });
    }
    throw ApplicationFailure.nonRetryable(
      `The scheduled pipeline ${pipelineWorkflowId} failed: ${(err as Error).message}`,
      'ScheduledPipelineFailed',
    );
  }
}
