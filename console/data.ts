import type { Client } from '@temporalio/client';
import { readAuditLog } from '../application/audit';
import { compareVersions, type VersionComparison } from '../application/compare';
import {
  listModels,
  type ModelSummary,
  modelVersions,
  type VersionDetail as StoredVersion,
  type VersionRow,
  versionDetail,
  versionReport,
} from '../application/models';
import {
  type ListedBatch,
  monitoredBatchById,
  monitoredBatches,
  monitoredBatchReport,
} from '../application/monitor';
import { type PendingRun, pendingReviews } from '../application/reviews';
import { listRuns, type RunSummary, stoppedRuns } from '../application/runs';
import {
  listSearches,
  SEARCH_TYPE,
  type SearchSummary,
  type SearchView,
  searchView,
} from '../application/searches';
import { openWorkspace, type Workspace } from '../application/workspace';
import type { SlipwayConfig } from '../config/env';
import type { AuditLogEntry } from '../domain/audit/auditLog';
import type { AliasEntry } from '../domain/registry/aliases';

export type StoppedRun = Awaited<ReturnType<typeof stoppedRuns>>[number];
export type { ModelSummary, VersionRow };

export interface VersionDetail extends StoredVersion {
  /** The run waiting for a decision on this version, if one is. */
  pending?: PendingRun;
  /** Batches scored with `apply --monitor`, oldest first. */
  monitored: ListedBatch[];
}

/**
 * What the console shows, read for one person (config.identity) through the application layer,
 * as the CLI reads it: a model this person may not see is refused with the same reason
 * `slipway models` gives. The console's own choices (newest first, how many rows) are made here.
 */
export class ConsoleData {
  private readonly ws: Workspace;

  constructor(
    readonly config: SlipwayConfig,
    readonly client: Client,
  ) {
    this.ws = openWorkspace(config);
  }

  get identity(): string {
    return this.ws.identity;
  }

  models(): Promise<ModelSummary[]> {
    return listModels(this.ws);
  }

  /** Versions newest first, and the alias log newest first (where "the alias moved" shows). */
  async model(name: string): Promise<{ versions: VersionRow[]; aliasLog: AliasEntry[] }> {
    const { versions, aliasLog } = await modelVersions(this.ws, name);
    return { versions: versions.reverse(), aliasLog: aliasLog.reverse() };
  }

  async version(name: string, version: number): Promise<VersionDetail> {
    const detail = await versionDetail(this.ws, name, version);
    const { batches: monitored } = await monitoredBatches(this.ws, `${name}@${version}`);
    if (detail.review !== undefined) return { ...detail, monitored };
    const pending = (await this.pending()).find((r) => r.model === name && r.version === version);
    return { ...detail, pending, monitored };
  }

  /** One batch a version scored with `apply --monitor`; undefined when it has none by that id. */
  monitoredBatch(name: string, version: number, id: string): Promise<ListedBatch | undefined> {
    return monitoredBatchById(this.ws, name, version, id);
  }

  /** The stored drift report of a monitored batch (checksum-verified by the store). */
  monitoredBatchReport(batch: ListedBatch): Promise<Buffer | undefined> {
    return monitoredBatchReport(this.ws, batch);
  }

  /** The stored HTML evaluation report of a version (checksum-verified by the store). */
  report(name: string, version: number): Promise<Buffer | undefined> {
    return versionReport(this.ws, name, version);
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
    return this.visible(await stoppedRuns(this.client, this.config.taskQueue));
  }

  /** Versions side by side, as `slipway compare` shows them. */
  compare(refs: string[]): Promise<VersionComparison> {
    return compareVersions(this.ws, refs);
  }

  /** Every run (of one model), newest first, leaving out models this person may not see. */
  async runs(model?: string): Promise<RunSummary[]> {
    const runs = await listRuns(this.client, this.config.taskQueue, { model, limit: 50 });
    return this.visible(runs);
  }

  /** The newest searches (`slipway tune`), leaving out models this person may not see. */
  async searches(): Promise<SearchSummary[]> {
    return this.visible(await listSearches(this.client, this.config.taskQueue, { limit: 50 }));
  }

  /**
   * One search with its trials and the workers that trained them, as `slipway status` shows it;
   * undefined when there is no search by that ID on this Slipway's task queue, or it is of a
   * model this person may not see (the same answer, so the page does not tell which).
   */
  async search(workflowId: string): Promise<SearchView | undefined> {
    const run = (
      await listRuns(this.client, this.config.taskQueue, {
        workflowId,
        workflowTypes: [SEARCH_TYPE],
        limit: 1,
      })
    )[0];
    if (run === undefined || (await this.visible([run])).length === 0) return undefined;
    return searchView(this.client, workflowId, run);
  }

  private async visible<T extends { model?: string }>(runs: T[]): Promise<T[]> {
    const allowed = await Promise.all(
      runs.map((r) =>
        r.model === undefined
          ? true
          : this.ws.access.whyNotUse(r.model, this.identity).then(
              (why) => why === undefined,
              () => true,
            ),
      ),
    );
    return runs.filter((_, i) => allowed[i]);
  }

  /** The newest `last` audit records this person may see, newest first. */
  async auditLog(options: { model?: string; last: number }): Promise<AuditLogEntry[]> {
    return (await readAuditLog(this.ws, options)).reverse();
  }
}
