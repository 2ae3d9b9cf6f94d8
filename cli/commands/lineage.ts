import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { ModelAccess } from '../../domain/access/modelAccess';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import type { LineageGraph } from '../../domain/lineage/graph';
import { downstreamLineage, upstreamLineage } from '../../domain/lineage/query';
import { type LineageFormat, lineageFormats, renderLineage } from '../../domain/lineage/render';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { resolveModelRef } from '../modelRef';

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
      const config = loadConfig();
      const store = openArtifactStore(config);
      let graph: Awaited<ReturnType<typeof upstreamLineage>>;
      if (opts.downstream !== undefined) {
        const target = opts.downstream.trim();
        graph = await downstreamLineage(
          store,
          /^[0-9a-f]{64}$/.test(target) ? { sha256: target } : { uri: parseDatasetSource(target).uri },
        );
      } else {
        const { name, version } = await resolveModelRef(
          new ModelRegistry(store),
          model as string,
          config.identity,
        );
        graph = await upstreamLineage(store, name, version);
      }
      if (opts.downstream !== undefined) graph = await withoutHiddenModels(graph, store, config.identity);
      process.stdout.write(`${renderLineage(graph, format).trimEnd()}\n`);
    });
}

/** A downstream answer without the model versions this person may not see (see `slipway share`). */
async function withoutHiddenModels(
  graph: LineageGraph,
  store: ArtifactStore,
  user: string,
): Promise<LineageGraph> {
  const access = new ModelAccess(new ModelRegistry(store));
  const names = [...new Set(graph.nodes.flatMap((n) => (n.type === 'model' ? [n.name] : [])))];
  const visible = new Set(await access.visibleTo(names, user));
  const hidden = new Set(
    graph.nodes.filter((n) => n.type === 'model' && !visible.has(n.name)).map((n) => n.id),
  );
  if (hidden.size === 0) return graph;
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !hidden.has(n.id)),
    edges: graph.edges.filter((e) => !hidden.has(e.from) && !hidden.has(e.to)),
  };
}
