import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import type { ExtractedDataset } from '../../activities';
import { printResult } from '../output';
import { openSession } from '../session';
import { describeDataset } from './extract';

const demoOptionsSchema = z.object({
  rows: z.coerce.number().int().min(100).max(10_000_000),
  seed: z.coerce.number().int().min(0).max(2 ** 31 - 1),
  json: z.boolean().optional(),
});

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the reference job on the embedded default with no setup: start the local stack and a worker, ' +
        'generate the synthetic credit-card-fraud data and snapshot it into the artifact store.',
    )
    .option('--rows <n>', 'rows of synthetic data (the reference data set has 284,807)', '284807')
    .option('--seed <n>', 'generator seed', '42')
    .option('--json', 'print one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const opts = demoOptionsSchema.parse(raw);
      const session = await openSession();
      try {
        const workflowId = `demo-extract-${randomUUID()}`;
        const dataset = (await session.client.workflow.execute('extractDatasetWorkflow', {
          taskQueue: session.config.taskQueue,
          workflowId,
          args: [{ source: `synthetic:fraud?rows=${opts.rows}&seed=${opts.seed}`, target: 'Class' }],
        })) as ExtractedDataset;
        printResult(opts, { workflowId, artifacts: session.config.artifactsUri, temporal: session.config.temporalAddress, dataset }, () =>
          [
            `Slipway demo: extracted the synthetic reference data set (workflow ${workflowId})`,
            describeDataset(dataset),
            '',
            `Artifacts live in ${session.config.artifactsUri}`,
            `Temporal: ${session.config.temporalAddress}${session.config.embeddedTemporal ? ` (Web UI http://127.0.0.1:${session.config.env.SLIPWAY_TEMPORAL_UI_PORT})` : ''}`,
          ].join('\n'),
        );
      } finally {
        await session.close();
      }
    });
}
