import { proxyActivities } from '@temporalio/workflow';
import type { ExtractedDataset, SlipwayActivities } from '../activities';
import { type ExtractDatasetInput, extractDatasetInputSchema } from '../contracts/inputs';
import { parseWorkflowInput } from './validation';

const { extractDataset } = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** ExampleGen on its own: snapshot a source into object storage and return references to it. */
export async function extractDatasetWorkflow(input: ExtractDatasetInput): Promise<ExtractedDataset> {
  const parsed = parseWorkflowInput(extractDatasetInputSchema, input, 'extractDatasetWorkflow');
  return await extractDataset(parsed);
}
