import { setNamespacePolicyActivity, setVisibilityActivity } from './access';
import {
  evaluateAnomalyModelActivity,
  exportAnomalyOnnxActivity,
  trainAnomalyModelActivity,
} from './anomaly';
import { recordChangeActivity } from './audit';
import type { ActivityDeps } from './deps';
import { driftTriggerActivity, recordDriftRetrainActivity } from './driftTrigger';
import { evaluateModelActivity } from './evaluate';
import { exportOnnxActivity } from './export';
import { extractDatasetActivity, extractUnlabelledActivity } from './extract';
import { fingerprintSourceActivity, lastTrainedSourceActivity } from './fingerprintSource';
import { evaluateGateActivity, evaluateShadowGateActivity } from './gate';
import { collectGarbageActivity } from './gc';
import { evaluateImportedActivity, importOnnxActivity } from './import';
import {
  deliverWebhookActivity,
  notificationTargetsActivity,
  recordUndeliveredNotificationActivity,
} from './notify';
import { promoteModelActivity, rollbackModelActivity } from './promote';
import { registerModelActivity } from './register';
import { renderReportActivity } from './report';
import { recordReviewActivity, verifyReviewDecisionActivity } from './review';
import { trainModelActivity } from './train';
import { prepareDataActivity } from './transform';
import { recordTuningActivity } from './tune';
import { validateDataActivity } from './validateData';

export type { EvaluatedAnomalyModel, ExportedAnomalyOnnx, TrainedAnomalyModel } from './anomaly';
export type { ActivityDeps } from './deps';
export type { EvaluatedModel, EvaluationMetrics } from './evaluate';
export type { ExportedOnnx } from './export';
export type { ExtractDatasetParams, ExtractedDataset } from './extract';
export type { GateDecision } from './gate';
export type { ImportedOnnx } from './import';
export type { Delivery, NotificationTargets } from './notify';
export type { Promotion } from './promote';
export type { RegisteredModel } from './register';
export type { TrainedModel, TrainingHeartbeat } from './train';
export type { PreparedData } from './transform';
export type { TuningRecord } from './tune';
export type { DataValidation } from './validateData';

/**
 * Every activity, bound to its dependencies. The worker registers what this returns. Files are
 * named after the pipeline's steps; the activity names are the ones recorded in workflow
 * histories (transform runs `prepareData`, train `trainModel`...), so they stay as they are.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    fingerprintSource: fingerprintSourceActivity(deps),
    lastTrainedSource: lastTrainedSourceActivity(deps),
    driftTrigger: driftTriggerActivity(deps),
    recordDriftRetrain: recordDriftRetrainActivity(deps),
    extractDataset: extractDatasetActivity(deps),
    validateData: validateDataActivity(deps),
    prepareData: prepareDataActivity(deps),
    trainModel: trainModelActivity(deps),
    recordTuning: recordTuningActivity(deps),
    evaluateModel: evaluateModelActivity(deps),
    exportOnnx: exportOnnxActivity(deps),
    evaluateGate: evaluateGateActivity(deps),
    evaluateShadowGate: evaluateShadowGateActivity(deps),
    renderReport: renderReportActivity(deps),
    registerModel: registerModelActivity(deps),
    recordReview: recordReviewActivity(deps),
    verifyReviewDecision: verifyReviewDecisionActivity(deps),
    promoteModel: promoteModelActivity(deps),
    rollbackModel: rollbackModelActivity(deps),
    recordChange: recordChangeActivity(deps),
    collectGarbage: collectGarbageActivity(deps),
    setNamespacePolicy: setNamespacePolicyActivity(deps),
    setVisibility: setVisibilityActivity(deps),
    importOnnx: importOnnxActivity(deps),
    evaluateImported: evaluateImportedActivity(deps),
    extractUnlabelled: extractUnlabelledActivity(deps),
    trainAnomalyModel: trainAnomalyModelActivity(deps),
    evaluateAnomalyModel: evaluateAnomalyModelActivity(deps),
    exportAnomalyOnnx: exportAnomalyOnnxActivity(deps),
    notificationTargets: notificationTargetsActivity(deps),
    deliverWebhook: deliverWebhookActivity(deps),
    recordUndeliveredNotification: recordUndeliveredNotificationActivity(deps),
  };
}

export type SlipwayActivities = ReturnType<typeof createActivities>;

/** Activities that run on the training task queue instead of the main one. */
export const trainingActivityNames: string[] = ['trainModel'];
