import type { LineageGraph } from '../domain/lineage/graph';
import { upstreamLineage } from '../domain/lineage/query';
import type { AliasEntry } from '../domain/registry/aliases';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { type ReviewRecord, readReview } from '../domain/review/records';
import type { Workspace } from './workspace';

export interface ModelSummary {
  model: string;
  versions: number;
  aliases: Record<string, number>;
}

export interface VersionRow {
  version: number;
  metadata: ModelVersionMetadata;
  review?: ReviewRecord;
  aliases: string[];
}

export interface VersionDetail extends VersionRow {
  card: string;
  /** The graph, or why there is none (a version registered before lineage was recorded). */
  lineage: LineageGraph | { missing: string };
}

/** Every model this person may see (see `slipway share`), with its version count and aliases. */
export async function listModels(ws: Workspace): Promise<ModelSummary[]> {
  const visible = await ws.access.visibleTo(await ws.registry.listModels(), ws.identity);
  return Promise.all(
    visible.map(async (model) => ({
      model,
      versions: (await ws.registry.listVersions(model)).length,
      aliases: await ws.aliases.aliasesOf(model),
    })),
  );
}

/**
 * One model's versions, oldest first, with their review and the aliases at each, the current
 * aliases, and the alias log oldest first; refused with the reason for a model this person may not see.
 */
export async function modelVersions(
  ws: Workspace,
  name: string,
): Promise<{ aliases: Record<string, number>; versions: VersionRow[]; aliasLog: AliasEntry[] }> {
  await ws.access.assertCanUse(name, ws.identity);
  const current = await ws.aliases.aliasesOf(name);
  const numbers = await ws.registry.listVersions(name);
  const versions = await Promise.all(numbers.map((v) => versionRow(ws, name, v, current)));
  return { aliases: current, versions, aliasLog: await ws.aliases.history(name) };
}

/** One version with its model card and lineage graph. */
export async function versionDetail(ws: Workspace, name: string, version: number): Promise<VersionDetail> {
  await ws.access.assertCanUse(name, ws.identity);
  const row = await versionRow(ws, name, version, await ws.aliases.aliasesOf(name));
  const [card, lineage] = await Promise.all([
    ws.registry.getModelCard(name, version),
    upstreamLineage(ws.store, name, version).catch((err: Error) => ({ missing: err.message })),
  ]);
  return { ...row, card, lineage };
}

/** A version's metadata and its ONNX bytes (checksum-verified by the store), by reference. */
export async function loadModelVersion(ws: Workspace, ref: string) {
  const { name, version, via } = await resolveModelRef(ws, ref);
  const metadata = await ws.registry.getVersion(name, version);
  const onnx = await ws.store.getBytes(metadata.artifacts.onnx);
  return { name, version, via, metadata, onnx };
}

/** The stored HTML evaluation report of a version (checksum-verified), or undefined for an old one. */
export async function versionReport(
  ws: Workspace,
  name: string,
  version: number,
): Promise<Buffer | undefined> {
  await ws.access.assertCanUse(name, ws.identity);
  const ref = (await ws.registry.getVersion(name, version)).artifacts.report;
  return ref === undefined ? undefined : ws.store.getBytes(ref);
}

async function versionRow(
  ws: Workspace,
  name: string,
  version: number,
  current: Record<string, number>,
): Promise<VersionRow> {
  const [metadata, review] = await Promise.all([
    ws.registry.getVersion(name, version),
    readReview(ws.registry, name, version),
  ]);
  return {
    version,
    metadata,
    review,
    aliases: Object.entries(current)
      .filter(([, v]) => v === version)
      .map(([a]) => a),
  };
}

/**
 * `<model>`, `<model>@<version>` or `<model>@<alias>` as a person types it, resolved to a version
 * number (a bare name means the production alias, else the newest version), for this person: a model
 * they may not see is refused with the reason, before anything about its versions is read.
 */
export async function resolveModelRef(
  ws: Workspace,
  ref: string,
): Promise<{ name: string; version: number; via?: string }> {
  const at = ref.lastIndexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? undefined : ref.slice(at + 1);
  await ws.access.assertCanUse(name, ws.identity);
  const { registry, aliases } = ws;
  if (selector === undefined) {
    const production = await aliases.resolve(name, 'production');
    if (production !== undefined) return { name, version: production, via: 'production' };
    return { name, version: (await registry.latestVersion(name)).version, via: 'latest' };
  }
  if (/^v?\d+$/.test(selector)) {
    const version = Number(selector.replace(/^v/, ''));
    await registry.getVersion(name, version); // names the versions that exist when it does not
    return { name, version };
  }
  const version = await aliases.resolve(name, selector);
  if (version === undefined) {
    const known = Object.keys(await aliases.aliasesOf(name));
    throw new Error(
      `${name} has no alias "${selector}"${known.length ? ` (its aliases: ${known.join(', ')})` : ' (it has no aliases yet)'}. ` +
        `Use ${name}@<version> or see \`slipway models ${name}\`.`,
    );
  }
  return { name, version, via: selector };
}
