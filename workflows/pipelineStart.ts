import { setHandler, workflowInfo } from '@temporalio/workflow';
import { progressQuery } from '../contracts/messages';
import type { PipelineProgress, PipelineStep } from '../contracts/progress';
import { stepTracker } from './release';
import { reviewGate } from './review';

/**
 * The start every pipeline workflow makes (a run, a search, an anomaly run, an import): its
 * progress with every step pending, answered by the progress query (through `view` where the
 * workflow shows a summary of it); the review gate, registered now so an approval sent too early
 * is refused with a reason instead of buffered; and the tracker its steps run through. Handlers
 * only: no command, so histories replay as before.
 */
export function startPipeline(
  steps: readonly PipelineStep[],
  view: (progress: PipelineProgress) => PipelineProgress = (progress) => progress,
) {
  const info = workflowInfo();
  const progress: PipelineProgress = {
    steps: steps.map((step) => ({ step, status: 'pending' })),
    training: { epochs: [] },
  };
  setHandler(progressQuery, () => view(progress));
  const review = reviewGate();
  return { info, progress, review, step: stepTracker(progress) };
}
