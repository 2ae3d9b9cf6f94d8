import type { Command } from 'commander';
import type { ExtractedDataset } from '../../application/results';
import { extractDataset } from '../../application/start';
import { extractDatasetInputSchema } from '../../contracts/inputs';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { keyValueTable, printResult } from '../output';
import { openSession } from '../session';

/** Human summary of an extracted dataset, shared by `extract` and `demo`. */
export function describeDataset(d: ExtractedDataset): string {
  return keyValueTable([
    ['source', d.sourceUri],
    ['rows', d.rows],
    [
      'features',
      `${d.features.length} (${d.features.slice(0, 6).join(', ')}${d.features.length > 6 ? ', ...' : ''})`,
    ],
    ['target', d.target],
    [
      'class counts',
      `${d.classCounts.negative} negative, ${d.classCounts.positive} positive (${((100 * d.classCounts.positive) / d.rows).toFixed(3)} %)`,
    ],
    [
      'constant features',
      d.constantFeatures.length > 0
        ? `${d.constantFeatures.join(', ')} (the same value in every row: nothing to learn from; ` +
          'leave them out with --features)'
        : 'none',
    ],
    [
      'snapshot',
      `${d.snapshot.uri} (${d.snapshot.bytes} bytes, sha256 ${d.snapshot.sha256.slice(0, 16)}...)`,
    ],
    ['summary', d.summary.uri],
  ]);
}

export function registerExtractCommand(program: Command): void {
  program
    .command('extract')
    .description(
      'Validate a CSV source and snapshot it into object storage (the ExampleGen step on its own).',
    )
    .argument('<source>', 'a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S')
    .option('--target <column>', 'the 0/1 label column', DEFAULT_TARGET_COLUMN)
    .option(
      '--features <list>',
      'comma-separated feature columns in order (default: every column but the target)',
    )
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  slipway extract data/transactions.csv --target Class\n  slipway extract synthetic:fraud?rows=20000&seed=7 --json',
    )
    .action(async (source: string, opts: { target: string; features?: string; json?: boolean }) => {
      const input = extractDatasetInputSchema.parse({
        // Resolved here, so a relative path means the caller's directory, not the worker's.
        source: parseDatasetSource(source).uri,
        target: opts.target,
        features: opts.features?.split(',').map((f) => f.trim()),
      });
      const session = await openSession();
      try {
        const { workflowId, dataset } = await extractDataset(session, input);
        printResult(
          opts,
          { workflowId, ...dataset },
          () => `Extracted ${dataset.rows} rows (workflow ${workflowId})\n${describeDataset(dataset)}`,
        );
      } finally {
        await session.close();
      }
    });
}
