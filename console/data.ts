import type { Client } from '@temporalio/client';
import { namespacePolicy } from '../application/access';
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
import {
  listNamespaces,
  type NamespaceOverview,
  type NamespaceSummary,
  namespaceOverview,
} from '../application/namespaces';
import { type PendingRun, pendingReviews } from '../application/reviews';
import { listRuns, type RunSummary, stoppedRuns } from '../application/runs';
import {
  listSearches,
  SEARCH_TYPE,
  type SearchSummary,
  type SearchView,
  searchView,
} from '../application/searches';
import {
  decisionsMustBeSigned,
  type ModelSignatureStatus,
  modelSignatureStatus,
  type ReviewTrust,
  reviewTrust,
} from '../application/trust';
import { openWorkspace, type Workspace } from '../application/workspace';
import type { SlipwayConfig } from '../config/env';
import type { AuditLogEntry } from '../domain/audit/auditLog';
import type { AliasEntry } from '../domain/registry/aliases';
import { parseModelName } from '../domain/registry/modelName';

export type StoppedRun = Awaited<ReturnType<typeof stoppedRuns>>[number];
export type { ModelSignatureStatus, ModelSummary, NamespaceOverview, NamespaceSummary, ReviewTrust };

/** A run waiting for review; `mustSign`: its namespace requires signed decisions, which the console cannot make. */
export interface PendingDecision extends PendingRun {
  mustSign: boolean;
}

/** A version's row, with what its review's signature is worth under the namespace's policy now. */
export interface TrustedVersionRow extends VersionRow {
  trust?: ReviewTrust;
}

export interface VersionDetail extends StoredVersion {
  /** The run waiting for a decision on this version, if one is. */
  pending?: PendingDecision;
  /** Batches scored with `apply --monitor`, oldest first. */
  monitored: ListedBatch[];
  /** The review's signature, re-verified (absent: no review). */
  trust?: ReviewTrust;
  /** The version's own signature (ONNX file and package), re-verified against the stored files. */
  signature: ModelSignatureStatus;
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
  async model(name: string): Promise<{ versions: TrustedVersionRow[]; aliasLog: AliasEntry[] }> {
    const { versions, aliasLog } = await modelVersions(this.ws, name);
    const policy = await namespacePolicy(this.ws, parseModelName(name).namespace);
    return {
      versions: versions
        .reverse()
        .map((v) => (v.review ? { ...v, trust: reviewTrust(v.review, policy) } : v)),
      aliasLog: aliasLog.reverse(),
    };
  }

  async version(name: string, version: number): Promise<VersionDetail> {
    const detail = await versionDetail(this.ws, name, version);
    const [{ batches: monitored }, signature, policy] = await Promise.all([
      monitoredBatches(this.ws, `${name}@${version}`),
      modelSignatureStatus(this.ws, name, version),
      namespacePolicy(this.ws, parseModelName(name).namespace),
    ]);
    if (detail.review !== undefined)
      return { ...detail, monitored, signature, trust: reviewTrust(detail.review, policy) };
    const pending = (await this.pending()).find((r) => r.model === name && r.version === version);
    return { ...detail, pending, monitored, signature };
  }

  /** The namespaces this person sees models in, with their signing and webhook settings at a glance. */
  namespaces(): Promise<NamespaceSummary[]> {
    return listNamespaces(this.ws);
  }

  /** One namespace's policy, keys, webhooks and dead-lettered notifications. */
  namespace(name: string): Promise<NamespaceOverview> {
    return namespaceOverview(this.ws, name);
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

  /** Runs of this Slipway (its task queue) waiting for a person, and whether their decision must be signed. */
  async pending(): Promise<PendingDecision[]> {
    const runs = await pendingReviews(this.client, { taskQueue: this.config.taskQueue });
    const signed = await Promise.all(runs.map((r) => decisionsMustBeSigned(this.ws, r.model)));
    return runs.map((r, i) => ({ ...r, mustSign: signed[i] === true }));
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
