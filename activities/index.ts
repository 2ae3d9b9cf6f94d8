import type { ActivityDeps } from './deps';
import { evaluateGateActivity } from './evaluateGate';
import { evaluateModelActivity } from './evaluateModel';
import { exportOnnxActivity } from './exportOnnx';
import { extractDatasetActivity } from './extractDataset';
import { fingerprintSourceActivity, lastTrainedSourceActivity } from './fingerprintSource';
import { evaluateImportedActivity, importOnnxActivity } from './importOnnx';
import { prepareDataActivity } from './prepareData';
import {
  promoteModelActivity,
  recordChangeActivity,
  recordReviewActivity,
  rollbackModelActivity,
} from './promoteModel';
import { registerModelActivity } from './registerModel';
import { renderReportActivity } from './renderReport';
import { trainModelActivity } from './trainModel';

export type { ActivityDeps } from './deps';
export type { GateDecision } from './evaluateGate';
export type { EvaluatedModel, EvaluationMetrics } from './evaluateModel';
export type { ExportedOnnx } from './exportOnnx';
export type { ExtractDatasetParams, ExtractedDataset } from './extractDataset';
export type { ImportedOnnx } from './importOnnx';
export type { PreparedData } from './prepareData';
export type { Promotion } from './promoteModel';
export type { RegisteredModel } from './registerModel';
export type { TrainedModel, TrainingHeartbeat } from './trainModel';

/** Every activity, bound to its dependencies. The worker registers what this returns. */
export function createActivities(deps: ActivityDeps) {
  return {
    fingerprintSource: fingerprintSourceActivity(deps),
    lastTrainedSource: lastTrainedSourceActivity(deps),
    extractDataset: extractDatasetActivity(deps),
    prepareData: prepareDataActivity(deps),
    trainModel: trainModelActivity(deps),
    evaluateModel: evaluateModelActivity(deps),
    exportOnnx: exportOnnxActivity(deps),
    evaluateGate: evaluateGateActivity(deps),
    renderReport: renderReportActivity(deps),
    registerModel: registerModelActivity(deps),
    recordReview: recordReviewActivity(deps),
    promoteModel: promoteModelActivity(deps),
    rollbackModel: rollbackModelActivity(deps),
    recordChange: recordChangeActivity(deps),
    importOnnx: importOnnxActivity(deps),
    evaluateImported: evaluateImportedActivity(deps),
  };
}

export type SlipwayActivities = ReturnType<typeof createActivities>;

/** Activities that run on the training task queue instead of the main one. */
export const trainingActivityNames: string[] = ['trainModel'];
