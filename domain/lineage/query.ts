import type { ArtifactStore } from '../storage/artifactStore';
import { CorruptLineageDocumentError, LineageNotFoundError } from './errors';
import {
  type ArtifactNode,
  artifactNodeId,
  type ExecutionNode,
  executionNodeId,
  type LineageEdge,
  type LineageGraph,
  type LineageNode,
  modelNodeId,
} from './graph';
import { artifactKey, executionKey, runKey } from './layout';
import { LineageStore } from './lineageStore';
import { COMPLETED, type Execution } from './schema';

/** The role of the edge from a registering execution to the model version it registered. */
export const REGISTERED_ROLE = 'registered';

/**
 * From a model version back to the source data: the execution that registered it, the
 * artifacts it read, the executions that produced those, and so on until artifacts that nothing
 * recorded produced (the sources, identified by the sha256 of their bytes).
 *
 * Content addressing means one artifact can have several producers (every run that extracted the
 * same bytes, cache hits included). The walk follows one: a producer from the same pipeline run
 * as the consumer if there is one, else the earliest execution that computed it (succeeded before
 * cached), so the answer is a chain, not every run that ever made the same bytes.
 */
export async function upstreamLineage(
  store: ArtifactStore,
  name: string,
  version: number,
): Promise<LineageGraph> {
  const lineage = new LineageStore(store);
  const context = await lineage.modelContext(name, version);
  if (!context) {
    throw new LineageNotFoundError(
      `No lineage is recorded for ${name}@${version} in ${store.location}. Versions registered before lineage ` +
        'recording was added have none; check the name and version with `slipway models`.',
    );
  }
  const graph = new GraphBuilder('upstream');
  const root = graph.add({
    id: modelNodeId(name, version),
    type: 'model',
    name,
    version,
    registeredAt: context.registeredAt,
  });
  graph.roots.push(root.id);
  const registrar = await requireExecution(lineage, context.executionId, `model version ${name}@${version}`);
  graph.add(executionNode(registrar));
  graph.link(executionNodeId(registrar.id), root.id, REGISTERED_ROLE);

  const queue: Execution[] = [registrar];
  for (let execution = queue.shift(); execution; execution = queue.shift()) {
    const inputs = (await lineage.events(execution.id, 'input')).sort(byRole);
    for (const event of inputs) {
      const known = graph.has(artifactNodeId(event.artifactSha256));
      const artifact = known
        ? artifactNodeId(event.artifactSha256)
        : graph.add(await artifactNode(lineage, event.artifactSha256, event.uri)).id;
      graph.link(artifact, executionNodeId(execution.id), event.role);
      if (known) {
        graph.noteUri(artifact, event.uri);
        continue;
      }
      const producer = await chooseProducer(lineage, event.artifactSha256, execution);
      if (!producer) continue;
      if (!graph.has(executionNodeId(producer.execution.id))) {
        graph.add(executionNode(producer.execution));
        queue.push(producer.execution);
      }
      graph.link(executionNodeId(producer.execution.id), artifact, producer.role);
    }
  }
  return graph.build();
}

export type DownstreamQuery = { sha256: string } | { uri: string };

/**
 * From an artifact (by sha256) or a source (by URI: every content ever read there) forward to
 * every model version whose registration consumed something derived from it. Only completed
 * executions are followed; the graph keeps just the paths that end in a model version.
 *
 * Identity is content: the same bytes read from another URI are the same artifact, and their
 * snapshot is the same snapshot, so models trained on a copy of a source are found too.
 */
export async function downstreamLineage(store: ArtifactStore, query: DownstreamQuery): Promise<LineageGraph> {
  const lineage = new LineageStore(store);
  const graph = new GraphBuilder('downstream');
  const start = await startArtifacts(lineage, query, store.location);
  const queue: string[] = [];
  for (const { sha256, uri } of start) {
    const node = graph.add(await artifactNode(lineage, sha256, uri));
    graph.roots.push(node.id);
    queue.push(sha256);
  }
  const seenExecutions = new Set<string>();

  for (let sha256 = queue.shift(); sha256 !== undefined; sha256 = queue.shift()) {
    for (const link of await lineage.links('input', sha256)) {
      const execution = await lineage.getExecution(link.executionId);
      if (!execution || !COMPLETED.has(execution.outcome)) continue;
      const node = executionNodeId(execution.id);
      if (!seenExecutions.has(execution.id)) {
        seenExecutions.add(execution.id);
        graph.add(executionNode(execution));
        await followOutputs(lineage, graph, execution, queue);
      }
      graph.link(artifactNodeId(sha256), node, link.role);
    }
  }
  return graph.build({ keepOnlyPathsToModels: true });
}

async function followOutputs(
  lineage: LineageStore,
  graph: GraphBuilder,
  execution: Execution,
  queue: string[],
) {
  const from = executionNodeId(execution.id);
  for (const event of (await lineage.events(execution.id, 'output')).sort(byRole)) {
    const id = artifactNodeId(event.artifactSha256);
    if (!graph.has(id)) {
      graph.add(await artifactNode(lineage, event.artifactSha256, event.uri));
      queue.push(event.artifactSha256);
    }
    graph.link(from, id, event.role);
  }
  for (const { name, version } of await lineage.modelsRegisteredBy(execution.id)) {
    const id = modelNodeId(name, version);
    if (!graph.has(id)) {
      const context = await lineage.modelContext(name, version);
      graph.add({
        id,
        type: 'model',
        name,
        version,
        registeredAt: context?.registeredAt ?? execution.endedAt ?? '',
      });
    }
    graph.link(from, id, REGISTERED_ROLE);
  }
}

async function startArtifacts(
  lineage: LineageStore,
  query: DownstreamQuery,
  location: string,
): Promise<{ sha256: string; uri: string }[]> {
  if ('sha256' in query) {
    const artifact = await lineage.getArtifact(query.sha256);
    if (!artifact) {
      throw new LineageNotFoundError(
        `No artifact with sha256 ${query.sha256} is recorded in the lineage at ${location}. Check the hash ` +
          '(`slipway lineage <model>@<version>` lists the hashes of a version), or pass the source URI instead.',
      );
    }
    return [{ sha256: artifact.sha256, uri: artifact.uri }];
  }
  const shas = await lineage.artifactsAtUri(query.uri);
  if (shas.length === 0) {
    throw new LineageNotFoundError(
      `Nothing read from ${query.uri} is recorded in the lineage at ${location}. Give the URI exactly as the ` +
        'pipeline recorded it (file paths as absolute file:/// URIs), or pass an artifact sha256 instead.',
    );
  }
  return shas.map((sha256) => ({ sha256, uri: query.uri }));
}

/** The producer the upstream walk follows (see upstreamLineage), with the role it wrote the artifact in. */
async function chooseProducer(
  lineage: LineageStore,
  sha256: string,
  consumer: Execution,
): Promise<{ execution: Execution; role: string } | undefined> {
  const links = await lineage.links('output', sha256);
  const sameRun = `${runKey(consumer.workflowId, consumer.runId)}.`;
  // Execution IDs start with their run's key, so the same-run candidates are known without reads.
  const ordered = [
    ...links.filter((l) => l.executionId.startsWith(sameRun)),
    ...links.filter((l) => !l.executionId.startsWith(sameRun)),
  ];
  let best: { execution: Execution; role: string } | undefined;
  for (const link of ordered) {
    const execution = await lineage.getExecution(link.executionId);
    if (!execution || !COMPLETED.has(execution.outcome)) continue;
    const isSameRun = link.executionId.startsWith(sameRun);
    if (isSameRun) return { execution, role: link.role };
    if (!best || earlier(execution, best.execution)) best = { execution, role: link.role };
  }
  return best;
}

/** Succeeded before cached (it is the one that computed the bytes), then by end time, then ID. */
function earlier(a: Execution, b: Execution): boolean {
  if (a.outcome !== b.outcome) return a.outcome === 'succeeded';
  const ta = a.endedAt ?? a.startedAt;
  const tb = b.endedAt ?? b.startedAt;
  if (ta !== tb) return Date.parse(ta) < Date.parse(tb);
  return a.id < b.id;
}

/** A document another one refers to; its absence is a corrupt lineage (`key` missing, and why it should exist). */
function present<T>(lineage: LineageStore, document: T | undefined, key: string, referrer: string): T {
  if (!document) {
    throw new CorruptLineageDocumentError(key, lineage.store.location, `it is missing, but ${referrer}`);
  }
  return document;
}

async function requireExecution(lineage: LineageStore, id: string, what: string): Promise<Execution> {
  return present(
    lineage,
    await lineage.getExecution(id),
    executionKey(id),
    `${what} names it as the execution that registered it`,
  );
}

async function artifactNode(lineage: LineageStore, sha256: string, uri: string): Promise<ArtifactNode> {
  const artifact = present(
    lineage,
    await lineage.getArtifact(sha256),
    artifactKey(sha256),
    'an event refers to it',
  );
  return {
    id: artifactNodeId(sha256),
    type: 'artifact',
    sha256,
    bytes: artifact.bytes,
    kind: artifact.kind,
    mediaType: artifact.mediaType,
    uri,
  };
}

function executionNode(execution: Execution): ExecutionNode {
  return {
    id: executionNodeId(execution.id),
    type: 'execution',
    executionId: execution.id,
    step: execution.step,
    workflowId: execution.workflowId,
    runId: execution.runId,
    attempt: execution.attempt,
    outcome: execution.outcome,
    worker: execution.worker,
    codeVersion: execution.codeVersion,
    paramsHash: execution.paramsHash,
    startedAt: execution.startedAt,
    endedAt: execution.endedAt,
  };
}

const byRole = (a: { role: string }, b: { role: string }) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0);

class GraphBuilder {
  readonly roots: string[] = [];
  private readonly nodes = new Map<string, LineageNode>();
  private readonly edges = new Map<string, LineageEdge>();

  constructor(private readonly direction: LineageGraph['direction']) {}

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  add<T extends LineageNode>(node: T): T {
    if (!this.nodes.has(node.id)) this.nodes.set(node.id, node);
    return node;
  }

  /** Keeps a further URI of an artifact already in the graph. */
  noteUri(id: string, uri: string): void {
    const node = this.nodes.get(id);
    if (node?.type !== 'artifact' || node.uri === uri || node.alsoAt?.includes(uri)) return;
    node.alsoAt = [...(node.alsoAt ?? []), uri];
  }

  link(from: string, to: string, role: string): void {
    const key = `${from}\n${to}\n${role}`;
    if (!this.edges.has(key)) this.edges.set(key, { from, to, role });
  }

  build(options: { keepOnlyPathsToModels?: boolean } = {}): LineageGraph {
    let nodes = [...this.nodes.values()];
    let edges = [...this.edges.values()];
    if (options.keepOnlyPathsToModels) {
      // Everything a model version can be reached from, walking edges backwards; roots stay
      // even when nothing came of them, so the answer still says what was asked.
      const keep = new Set<string>();
      const frontier = nodes.filter((n) => n.type === 'model').map((n) => n.id);
      for (let id = frontier.pop(); id !== undefined; id = frontier.pop()) {
        if (keep.has(id)) continue;
        keep.add(id);
        for (const edge of edges) if (edge.to === id) frontier.push(edge.from);
      }
      for (const root of this.roots) keep.add(root);
      nodes = nodes.filter((n) => keep.has(n.id));
      edges = edges.filter((e) => keep.has(e.from) && keep.has(e.to));
    }
    return { direction: this.direction, roots: [...this.roots], nodes, edges };
  }
}
