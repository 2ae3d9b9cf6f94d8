import type { EpochResult } from '../domain/ml/train';
import type { ArtifactRef } from '../domain/storage/artifactRef';

export const pipelineSteps = [
  'extract',
  'validate',
  'transform',
  'train',
  'evaluate',
  'export',
  'gate',
  'report',
  'register',
  'review',
  'promote',
] as const;
/** The steps of importModel: a file trained elsewhere, evaluated when labelled data is given. */
export const importSteps = [
  'import',
  'extract',
  'evaluate',
  'gate',
  'register',
  'review',
  'promote',
] as const;
/** What a step says about the cache, so progress and metadata show which outputs were reused. */
export interface StepCacheInfo {
  /** `off` when the run was started with caching disabled. */
  status: 'hit' | 'miss' | 'off';
  key?: string;
  /** The execution whose outputs a hit reuses. */
  reusedFrom?: { workflowId?: string; runId?: string; recordedAt?: string };
}

export type PipelineStep = (typeof pipelineSteps)[number] | (typeof importSteps)[number];

export interface StepStatus {
  step: PipelineStep;
  /** skipped: not needed by this run (no review asked for, or the gate blocked the version). */
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  startedAt?: number;
  durationMs?: number;
  /** hit: outputs reused from an earlier run; miss: computed and recorded; off: caching disabled. */
  cache?: StepCacheInfo['status'];
}

/**
 * One epoch's figures as the training activity reports them (validation = held-out split), with
 * the activity attempt that ran it: a retried attempt resumes from a checkpoint.
 */
export type TrainingEpoch = EpochResult & { attempt: number };

/** What the progress query returns: figures and references only, never data. */
export interface PipelineProgress {
  current?: PipelineStep;
  steps: StepStatus[];
  training: { epochs: TrainingEpoch[]; resumedFromEpoch?: number };
  /** Present while the run waits for a person to approve or reject it. */
  review?: PendingReview;
  /** A search (`slipway tune`): its trials as they stand. */
  tune?: TuneProgress;
}

/**
 * One trial of a search. completed: trained to its full epochs; stopped: halving ended it early
 * (stopReason says why); failed: its training failed (error says why).
 */
export interface TrialProgress {
  /** 1-based. */
  trial: number;
  settings: Record<string, number | string>;
  status: 'pending' | 'running' | 'completed' | 'stopped' | 'failed';
  epochsRun: number;
  /** Training and validation loss per epoch: the trial's validation curve. */
  curve: Array<{ epoch: number; loss: number; valLoss?: number }>;
  /** Validation loss at its last epoch: what the trials are ranked by (lower is better). */
  objective?: number;
  stopReason?: string;
  error?: string;
  /** The child workflows that trained it (one per halving rung it reached). */
  workflowIds: string[];
  /** Its trained model (a checkpoint), from its last rung. */
  model?: ArtifactRef;
}

export interface TuneProgress {
  method: 'grid' | 'random' | 'halving';
  parallel: number;
  seed: number;
  /** Halving: epochs and trials of each rung; grid and random: one rung. */
  rungs: Array<{ epochs: number; trials: number }>;
  /** The rung being trained (0-based). */
  rung: number;
  trials: TrialProgress[];
  /** The winning trial, once the search has ended. */
  best?: number;
}

export interface PendingReview {
  model: string;
  version: number;
  approvers: string[];
  requestedBy: string;
  /** Workflow time (ms since the epoch) after which silence counts as a rejection. */
  deadline: number;
}

/**
 * The step each activity runs in, so a failure's cause (which names the activity) can say the
 * step a person sees in `slipway status`. The scheduled run's own activities come before its
 * pipeline starts.
 */
export const stepOfActivity: Readonly<Record<string, PipelineStep | 'fingerprint'>> = {
  fingerprintSource: 'fingerprint',
  lastTrainedSource: 'fingerprint',
  extractDataset: 'extract',
  prepareData: 'transform',
  trainModel: 'train',
  evaluateModel: 'evaluate',
  evaluateImported: 'evaluate',
  exportOnnx: 'export',
  evaluateGate: 'gate',
  renderReport: 'report',
  registerModel: 'register',
  recordReview: 'review',
  promoteModel: 'promote',
  rollbackModel: 'promote',
  importOnnx: 'import',
};
