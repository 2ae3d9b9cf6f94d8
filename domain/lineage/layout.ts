import { canonicalJson } from '../cache/canonicalJson';
import { padVersion } from '../registry/layout';
import { modelPath } from '../registry/modelName';
import { sha256Hex } from '../storage/hashing';

/**
 * Where lineage lives in the artifact store (the same keys under a local directory and an S3
 * prefix). Every document is written idempotently: the same call twice writes the same bytes.
 *
 *   lineage/runs/<R>.json                          pipeline-run context { workflowId, runId };
 *                                                  R = hash of the pair (workflow IDs are free text)
 *   lineage/executions/<R>.<step>.<attempt>.json   one execution: one attempt of one step. Its ID
 *                                                  starts with R, so a run's executions list by prefix.
 *                                                  Written last: outputs count once it says succeeded.
 *   lineage/events/<E>/<input|output>.<role>.json  the artifacts an execution read and wrote
 *   lineage/artifacts/<sha256>.json                an artifact: kind, size, where it was first seen
 *   lineage/producers/<sha256>/<E>.<role>.json     index: who wrote this artifact (upstream walks)
 *   lineage/consumers/<sha256>/<E>.<role>.json     index: who read this artifact (downstream walks)
 *   lineage/uris/<U>/<sha256>.json                 index: the contents seen at a URI (a source that
 *                                                  changed over time has several); U = hash of the URI
 *   lineage/models/<name>/<NNNNNNNN>.json          model-version context: the execution that registered it
 *   lineage/model-executions/<E>/<name>@<NNNNNNNN>.json  index: model versions an execution registered
 *
 * The indexes make both query directions a walk over small listings instead of a scan of the
 * whole store.
 */
export const LINEAGE_PREFIX = 'lineage/';

export function runKey(workflowId: string, runId: string): string {
  return sha256Hex(canonicalJson([workflowId, runId])).slice(0, 32);
}

export function executionId(workflowId: string, runId: string, step: string, attempt: number): string {
  return `${runKey(workflowId, runId)}.${step}.${attempt}`;
}

export function runContextKey(workflowId: string, runId: string): string {
  return `${LINEAGE_PREFIX}runs/${runKey(workflowId, runId)}.json`;
}

export function executionKey(id: string): string {
  return `${LINEAGE_PREFIX}executions/${id}.json`;
}

/** Executions of one run (all steps and attempts) share this listing prefix. */
export function runExecutionsPrefix(workflowId: string, runId: string): string {
  return `${LINEAGE_PREFIX}executions/${runKey(workflowId, runId)}.`;
}

export type EventType = 'input' | 'output';

export function eventsPrefix(id: string, type?: EventType): string {
  return `${LINEAGE_PREFIX}events/${id}/${type === undefined ? '' : `${type}.`}`;
}

export function eventKey(id: string, type: EventType, role: string): string {
  return `${eventsPrefix(id, type)}${role}.json`;
}

export function artifactKey(sha256: string): string {
  return `${LINEAGE_PREFIX}artifacts/${sha256}.json`;
}

/** Producers (output events) or consumers (input events) of one artifact. */
export function linkPrefix(type: EventType, sha256: string): string {
  return `${LINEAGE_PREFIX}${type === 'output' ? 'producers' : 'consumers'}/${sha256}/`;
}

export function linkKey(type: EventType, sha256: string, id: string, role: string): string {
  return `${linkPrefix(type, sha256)}${id}.${role}.json`;
}

/** Splits the last segment of a link key, `<executionId>.<role>.json`, into its parts. */
export function parseLinkKey(key: string): { executionId: string; role: string } | undefined {
  const match = /^([0-9a-f]{32}\.[A-Za-z0-9_-]+\.\d+)\.([A-Za-z0-9-]+)\.json$/.exec(
    key.slice(key.lastIndexOf('/') + 1),
  );
  return match ? { executionId: match[1], role: match[2] } : undefined;
}

export function uriPrefix(uri: string): string {
  return `${LINEAGE_PREFIX}uris/${sha256Hex(uri).slice(0, 32)}/`;
}

export function uriIndexKey(uri: string, sha256: string): string {
  return `${uriPrefix(uri)}${sha256}.json`;
}

export function modelContextKey(name: string, version: number): string {
  return `${LINEAGE_PREFIX}${modelPath(name)}/${padVersion(version)}.json`;
}

export function modelExecutionsPrefix(id: string): string {
  return `${LINEAGE_PREFIX}model-executions/${id}/`;
}

/** `<name>@<version>.json`; a namespaced name adds a folder, which the listing parses back. */
export function modelExecutionKey(id: string, name: string, version: number): string {
  modelPath(name);
  return `${modelExecutionsPrefix(id)}${name}@${padVersion(version)}.json`;
}
