import { parseDatasetSource } from '../domain/data/sourceUri';
import type { LineageGraph } from '../domain/lineage/graph';
import { downstreamLineage, upstreamLineage } from '../domain/lineage/query';
import { resolveModelRef } from './models';
import type { Workspace } from './workspace';

/** Where a model version came from, back to the source bytes (`ref` as `resolveModelRef` reads it). */
export async function upstreamOf(ws: Workspace, ref: string): Promise<LineageGraph> {
  const { name, version } = await resolveModelRef(ws, ref);
  return upstreamLineage(ws.store, name, version);
}

/**
 * Every model version built from an artifact (a sha256) or a source (a URI or path), without the
 * versions this person may not see (see `slipway share`).
 */
export async function downstreamOf(ws: Workspace, target: string): Promise<LineageGraph> {
  const trimmed = target.trim();
  const graph = await downstreamLineage(
    ws.store,
    /^[0-9a-f]{64}$/.test(trimmed) ? { sha256: trimmed } : { uri: parseDatasetSource(trimmed).uri },
  );
  const names = [...new Set(graph.nodes.flatMap((n) => (n.type === 'model' ? [n.name] : [])))];
  const visible = new Set(await ws.access.visibleTo(names, ws.identity));
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
