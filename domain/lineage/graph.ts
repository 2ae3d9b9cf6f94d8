import type { ArtifactKind } from '../storage/artifactRef';
import type { ExecutionOutcome } from './schema';

export interface ModelNode {
  id: string;
  type: 'model';
  name: string;
  version: number;
  registeredAt: string;
}

export interface ExecutionNode {
  id: string;
  type: 'execution';
  executionId: string;
  step: string;
  workflowId: string;
  runId: string;
  attempt: number;
  outcome: ExecutionOutcome;
  worker?: string;
  codeVersion: string;
  paramsHash: string;
  startedAt: string;
  endedAt?: string;
}

export interface ArtifactNode {
  id: string;
  type: 'artifact';
  sha256: string;
  bytes: number;
  kind: ArtifactKind;
  mediaType?: string;
  /** Where the walk met it (the same bytes may live at several URIs). */
  uri: string;
  /** Other URIs the walk met the same bytes at, e.g. an imported file's origin beside its stored copy. */
  alsoAt?: string[];
}

export type LineageNode = ModelNode | ExecutionNode | ArtifactNode;

/** Data flows from `from` to `to`: artifact -> execution is an input, execution -> artifact an output. */
export interface LineageEdge {
  from: string;
  to: string;
  role: string;
}

/**
 * A lineage answer: upstream (from a model version back to its sources) or downstream (from an
 * artifact forward to the model versions built from it). `roots` are where the question started;
 * nodes appear in the order the walk met them, so renderings are stable.
 */
export interface LineageGraph {
  direction: 'upstream' | 'downstream';
  roots: string[];
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export const modelNodeId = (name: string, version: number): string => `model:${name}@${version}`;
export const executionNodeId = (executionId: string): string => `execution:${executionId}`;
export const artifactNodeId = (sha256: string): string => `artifact:${sha256}`;

/** Artifacts nothing in the graph produced: for an upstream graph, the source data. */
export function sourceArtifacts(graph: LineageGraph): ArtifactNode[] {
  const produced = new Set(graph.edges.map((e) => e.to));
  return graph.nodes.filter((n): n is ArtifactNode => n.type === 'artifact' && !produced.has(n.id));
}

/** Model versions in the graph, by name then version. */
export function modelVersions(graph: LineageGraph): { name: string; version: number }[] {
  return graph.nodes
    .filter((n): n is ModelNode => n.type === 'model')
    .map(({ name, version }) => ({ name, version }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version));
}
