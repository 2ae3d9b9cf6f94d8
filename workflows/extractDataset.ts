import { proxyActivities } from '@temporalio/workflow';
import type { ExtractedDataset, SlipwayActivities } from '../activities';
import { type ExtractDatasetInput, extractDatasetInputSchema } from '../contracts/inputs';
import { activityRetry } from './retryPolicy';
import { parseWorkflowInput } from './validation';

const { extractDataset } = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: activityRetry,
});

/** ExampleGen on its own: snapshot a source into object storage and return references to it. */
export async function extractDatasetWorkflow(input: ExtractDatasetInput): Promise<ExtractedDataset> {
  const parsed = parseWorkflowInput(extractDatasetInputSchema, input, 'extractDatasetWorkflow');
  return await extractDataset(parsed);
}
