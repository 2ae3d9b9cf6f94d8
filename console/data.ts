import type { Client } from '@temporalio/client';
import { type PendingRun, pendingReviews } from '../cli/reviewActions';
import { stoppedRuns } from '../cli/runStatus';
import type { SlipwayConfig } from '../config/env';
import { ModelAccess } from '../domain/access/modelAccess';
import { AuditLog, type AuditLogEntry } from '../domain/audit/auditLog';
import type { LineageGraph } from '../domain/lineage/graph';
import { upstreamLineage } from '../domain/lineage/query';
import { type AliasEntry, ModelAliases } from '../domain/registry/aliases';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { ModelRegistry } from '../domain/registry/registry';
import { type ReviewRecord, readReview } from '../domain/registry/reviews';
import { openArtifactStore } from '../domain/storage/openStore';

export type StoppedRun = Awaited<ReturnType<typeof stoppedRuns>>[number];

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
  /** The run waiting for a decision on this version, if one is. */
  pending?: PendingRun;
}

/**
 * What the console shows, read for one person (config.identity) through the same registry,
 * access rules, lineage and audit code as the CLI: a model this person may not see is refused with
 * the same reason `slipway models` gives.
 */
export class ConsoleData {
  readonly registry: ModelRegistry;
  private readonly aliases: ModelAliases;
  private readonly access: ModelAccess;
  private readonly audit: AuditLog;

  constructor(
    readonly config: SlipwayConfig,
    readonly client: Client,
  ) {
    this.registry = new ModelRegistry(openArtifactStore(config));
    this.aliases = new ModelAliases(this.registry);
    this.access = new ModelAccess(this.registry);
    this.audit = new AuditLog(this.registry.store);
  }

  get identity(): string {
    return this.config.identity;
  }

  async models(): Promise<ModelSummary[]> {
    const visible = await this.access.visibleTo(await this.registry.listModels(), this.identity);
    return Promise.all(
      visible.map(async (model) => ({
        model,
        versions: (await this.registry.listVersions(model)).length,
        aliases: await this.aliases.aliasesOf(model),
      })),
    );
  }

  /** Versions newest first, and the alias log newest first (where "the alias moved" shows). */
  async model(name: string): Promise<{ versions: VersionRow[]; aliasLog: AliasEntry[] }> {
    await this.access.assertCanUse(name, this.identity);
    const current = await this.aliases.aliasesOf(name);
    const numbers = (await this.registry.listVersions(name)).reverse();
    const versions = await Promise.all(numbers.map((v) => this.row(name, v, current)));
    return { versions, aliasLog: (await this.aliases.history(name)).reverse() };
  }

  async version(name: string, version: number): Promise<VersionDetail> {
    await this.access.assertCanUse(name, this.identity);
    const row = await this.row(name, version, await this.aliases.aliasesOf(name));
    const [card, lineage, pending] = await Promise.all([
      this.registry.getModelCard(name, version),
      upstreamLineage(this.registry.store, name, version).catch((err: Error) => ({ missing: err.message })),
      row.review === undefined
        ? this.pending().then((runs) => runs.find((r) => r.model === name && r.version === version))
        : undefined,
    ]);
    return { ...row, card, lineage, pending };
  }

  /** The stored HTML evaluation report of a version (checksum-verified by the store). */
  async report(name: string, version: number): Promise<Buffer | undefined> {
    await this.access.assertCanUse(name, this.identity);
    const ref = (await this.registry.getVersion(name, version)).artifacts.report;
    return ref === undefined ? undefined : this.registry.store.getBytes(ref);
  }

  /** Runs of this Slipway (its task queue) waiting for a person. */
  pending(): Promise<PendingRun[]> {
    return pendingReviews(this.client, { taskQueue: this.config.taskQueue });
  }

  /**
   * The newest runs that failed or were cancelled, with their cause, leaving out runs of models
   * this person may not see (a model with no version yet hides nothing).
   */
  async stoppedRuns(): Promise<StoppedRun[]> {
    const runs = await stoppedRuns(this.client, this.config.taskQueue);
    const allowed = await Promise.all(
      runs.map((r) =>
        r.model === undefined
          ? true
          : this.access.whyNotUse(r.model, this.identity).then(
              (why) => why === undefined,
              () => true,
            ),
      ),
    );
    return runs.filter((_, i) => allowed[i]);
  }

  /**
   * The newest `last` audit records, newest first. Records about a model this person may not see
   * are left out, as `slipway models` leaves the model out.
   */
  async auditLog(options: { model?: string; last: number }): Promise<AuditLogEntry[]> {
    if (options.model !== undefined) await this.access.assertCanUse(options.model, this.identity);
    const entries = await this.audit.entries(options);
    const named = [
      ...new Set(entries.flatMap((e) => (e.record?.model === undefined ? [] : [e.record.model]))),
    ];
    // A name the registry cannot answer for (damaged or removed) is hidden rather than failing the page.
    const allowed = await Promise.all(
      named.map((n) =>
        this.access.whyNotUse(n, this.identity).then(
          (why) => why === undefined,
          () => false,
        ),
      ),
    );
    const visible = new Set(named.filter((_, i) => allowed[i]));
    return entries.filter((e) => e.record?.model === undefined || visible.has(e.record.model)).reverse();
  }

  private async row(name: string, version: number, current: Record<string, number>): Promise<VersionRow> {
    const [metadata, review] = await Promise.all([
      this.registry.getVersion(name, version),
      readReview(this.registry, name, version),
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
}
