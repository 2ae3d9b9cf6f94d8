import type { Command } from 'commander';
import { downstreamOf, upstreamOf } from '../../application/lineage';
import { openWorkspace } from '../../application/workspace';
import { type LineageFormat, lineageFormats, renderLineage } from '../../domain/lineage/render';

export function registerLineageCommand(program: Command): void {
  program
    .command('lineage')
    .description(
      'Show where a model version came from (back to the source bytes), or with --downstream every version built from a data set or artifact.',
    )
    .argument('[model]', '<model>, <model>@<version> or <model>@<alias> (default alias: production)')
    .option(
      '--downstream <sha256|uri>',
      'an artifact sha256 or a source URI/path: list the model versions trained from it',
    )
    .option('--format <format>', `output format: ${lineageFormats.join(', ')}`, 'text')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway lineage fraud-demo@production\n  slipway lineage fraud-demo@3 --format mermaid\n  slipway lineage --downstream data/transactions.csv',
    )
    .action(async (model: string | undefined, opts: { downstream?: string; format: string }) => {
      if (!(lineageFormats as readonly string[]).includes(opts.format)) {
        throw new Error(`Unknown --format ${opts.format}: use one of ${lineageFormats.join(', ')}.`);
      }
      const format = opts.format as LineageFormat;
      if ((model === undefined) === (opts.downstream === undefined)) {
        throw new Error(
          'Give either a model (slipway lineage <model>@<version>) or --downstream <sha256|uri>, not both.',
        );
      }
      const ws = openWorkspace();
      const graph =
        opts.downstream !== undefined
          ? await downstreamOf(ws, opts.downstream)
          : await upstreamOf(ws, model as string);
      process.stdout.write(`${renderLineage(graph, format).trimEnd()}\n`);
    });
}
