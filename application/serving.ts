import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { AuditEntry } from '../domain/audit/record';
import { explainerForOnnx, openRowExplainer } from '../domain/explain/rowExplainer';
import { decodeAutoencoder } from '../domain/ml/autoencoder';
import { scalerFromJson } from '../domain/ml/scaler';
import { ModelAliases } from '../domain/registry/aliases';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { categoricalInputsOf, openAnomalyScorer } from '../domain/scoring/anomalyScorer';
import { addedColumns } from '../domain/scoring/columns';
import { ScoringError } from '../domain/scoring/errors';
import { type AnomalyReference, checkAnomalyVersion } from '../domain/serving/anomalyCheck';
import { CanarySplit } from '../domain/serving/canary';
import { badRequest, RequestError } from '../domain/serving/errors';
import { removeRegistration, SERVICE_LEASE_SECONDS, writeRegistration } from '../domain/serving/fleet';
import type { RequestLimits } from '../domain/serving/limits';
import { ServingMetrics } from '../domain/serving/metrics';
import { type RequestRecord, type RunningServer, startScoringServer } from '../domain/serving/scoringServer';
import {
  type AnomalyVersion,
  type ClassifierVersion,
  type LoadedVersion,
  releaseLoaded,
  ServedModel,
} from '../domain/serving/servedModel';
import { openServingScorer } from '../domain/serving/servingScorer';
import {
  type ShadowPairReport,
  type ShadowRecord,
  shadowRecordSchema,
  shadowTerms,
  summarizeShadow,
} from '../domain/serving/shadow';
import {
  type CheckReference,
  checkVersion,
  graphReference,
  trainedReference,
} from '../domain/serving/versionCheck';
import { AliasFollower, type FollowerHooks } from './aliasFollower';
import { resolveModelRef } from './models';
import { type MonitorOutcome, ServingMonitor } from './servingMonitor';
import type { Workspace } from './workspace';

/** What `slipway serve` was asked to serve: `<model>@<alias>` follows the alias, `<model>@<n>` is pinned. */
export interface ServeTarget {
  model: string;
  alias?: string;
}

/** One thing that happened to a served model, for the operator's log. */
export type ServingEvent =
  | {
      kind: 'loaded';
      model: string;
      alias?: string;
      version: number;
      /** What the version is: its check's figure is a float32 bound (classifier) or a parity tolerance (anomaly). */
      versionKind: 'classifier' | 'anomaly';
      check: LoadedVersion['check'];
      ms: number;
    }
  | { kind: 'swapped'; model: string; alias?: string; from: number; to: number; ms: number; warm: boolean }
  | { kind: 'refused'; model: string; alias?: string; version: number; kept?: number; reason: string }
  | { kind: 'poll-failed'; model: string; alias?: string; message: string }
  | (MonitorOutcome & { alias?: string });

/** A refused version's audit record, to be written by a worker (application/changes.ts auditChange). */
export interface RefusalRecord {
  type: 'serving-refusal';
  model: string;
  version: number;
  actor: string;
  reason: string;
  at: string;
  details: Record<string, unknown>;
  idempotencyKey: string;
}

export interface ServeOptions {
  host: string;
  port: number;
  /**
   * How often each followed alias is read (ms): a move that tells the service (ModelAliases with
   * the serving fleet) swaps it at the move; the poll is for writers that do not, and for a
   * service a move left out.
   */
  pollMs: number;
  /** The address alias moves reach this service at, when not the one it listens on (behind NAT, 0.0.0.0). */
  advertiseUrl?: string;
  limits?: RequestLimits;
  token?: string;
  /** onnxruntime intra-op threads per session (default 1: requests run side by side instead). */
  intraOpThreads?: number;
  onEvent?: (event: ServingEvent) => void;
  onRequest?: (record: RequestRecord) => void;
  /** A share of requests (percent) answered by the version behind this alias instead (a canary). */
  canary?: { alias: string; percent: number };
  /** Also score every request with the version behind this alias, without returning it (shadow traffic). */
  shadowAlias?: string;
  onShadow?: (record: ShadowRecord) => void;
  /**
   * `serve --monitor`: record what the served versions answer as monitored batches, one every
   * `rows` rows or `seconds` seconds per version (application/servingMonitor.ts), the rest at stop.
   */
  monitor?: { rows: number; seconds: number };
  /** Writes a refusal to the audit log; its failure is reported as an event, the refusal stands. */
  recordRefusal?: (record: RefusalRecord) => Promise<void>;
}

export interface ServingService extends RunningServer {
  models: ServedModel[];
  metrics: ServingMetrics;
  /** Stops following, drains the server, releases the sessions. */
  stop(timeoutMs?: number): Promise<{ drained: boolean }>;
}

/**
 * Loads one version for serving: its metadata and ONNX file (checksum-verified), a warm onnxruntime
 * session, and its check against the network its record says it is (domain/serving/versionCheck.ts).
 * A version whose record has no network to check against (an imported file that is not a dense
 * graph) is only run on the probe rows for finite outputs. The scorer is released on a failed check.
 */
export async function loadServingVersion(
  ws: Workspace,
  model: string,
  version: number,
  options: { intraOpThreads?: number } = {},
): Promise<LoadedVersion> {
  const metadata = await ws.registry.getVersion(model, version);
  const onnx = await ws.store.getBytes(metadata.artifacts.onnx);
  if (metadata.kind === 'anomaly') return loadAnomalyVersion(ws, metadata, onnx);
  const outputName = metadata.imported?.outputName;
  const nFeatures = metadata.features.length;
  // Categorical features (the graph's string inputs) are fed as text, as apply does.
  const categorical = categoricalInputsOf(onnx, metadata.features);
  const scorer = await openServingScorer(onnx, nFeatures, outputName, { ...options, categorical });
  let explainer: ClassifierVersion['explainer'] | undefined;
  try {
    const reference = await referenceOf(ws, metadata, onnx, scorer.outputName);
    // Every session that answers requests is checked (and warmed) on the probe rows.
    const check =
      'reason' in reference
        ? ({
            passed: false,
            rows: 0,
            source: 'graph',
            worstBoundUsed: Number.NaN,
            reason: reference.reason,
          } as const)
        : await checkVersion(scorer.sessions, reference, nFeatures);
    explainer =
      categorical.length > 0
        ? {
            notExplainable: `it takes categorical features as text (${categorical.join(', ')}), which the service's per-row explanations do not take yet (apply --explain does)`,
          }
        : await openServingExplainer(onnx, scorer.outputName, metadata.features);
    return {
      model,
      version,
      features: metadata.features,
      target: metadata.target,
      threshold: metadata.threshold,
      columns: addedColumns(metadata.target),
      ...(categorical.length > 0 ? { categorical } : {}),
      scorer,
      check,
      explainer,
    };
  } catch (error) {
    await scorer.release();
    if (explainer && 'release' in explainer) await explainer.release();
    throw error;
  }
}

/**
 * The version's explainer, the one `apply --explain` builds (domain/explain/rowExplainer.ts), opened
 * once so explained requests find it warm; a graph the method cannot read is kept as its reason.
 */
async function openServingExplainer(
  onnx: Uint8Array,
  outputName: string,
  features: string[],
): Promise<ClassifierVersion['explainer']> {
  // Explaining is an extra: a version it cannot read (or whose explainer graph onnxruntime
  // refuses) is still served, and a request asking to explain is told why not.
  try {
    const { graph } = explainerForOnnx(onnx, outputName, features);
    return await openRowExplainer(graph, features, features.length);
  } catch (error) {
    const message = (error as Error).message;
    return {
      notExplainable:
        error instanceof ScoringError && error.type === 'NotExplainable'
          ? message.replace(/--explain/g, 'explain').replace(/ Score without explain\.$/, '')
          : `its explainer could not be built (${message})`,
    };
  }
}

/**
 * An anomaly version for serving: one warm session (these models are small; apply scores them on
 * one thread too) taking the numeric features as a float tensor and each categorical feature as
 * text, checked on probe rows against the autoencoder it was trained as (anomalyCheck.ts).
 */
async function loadAnomalyVersion(
  ws: Workspace,
  metadata: ModelVersionMetadata,
  onnx: Uint8Array,
): Promise<AnomalyVersion> {
  const categorical = categoricalInputsOf(onnx, metadata.features);
  const nNumeric = metadata.features.length - categorical.length;
  const scorer = await openAnomalyScorer(onnx, nNumeric, categorical);
  try {
    const { model, scaler } = metadata.artifacts;
    let reference: AnomalyReference | undefined;
    if (metadata.autoencoder && model && scaler) {
      const [weights, scalerJson] = await Promise.all([ws.store.getBytes(model), ws.store.getBytes(scaler)]);
      reference = {
        weights: decodeAutoencoder(weights.toString('utf8')),
        scaler: scalerFromJson(scalerJson.toString('utf8')),
        threshold: metadata.threshold,
      };
    }
    return {
      kind: 'anomaly',
      model: metadata.name,
      version: metadata.version,
      features: metadata.features,
      threshold: metadata.threshold,
      scorer,
      check: await checkAnomalyVersion(scorer, reference, nNumeric),
    };
  } catch (error) {
    await scorer.release();
    throw error;
  }
}

async function referenceOf(
  ws: Workspace,
  metadata: ModelVersionMetadata,
  onnx: Uint8Array,
  outputName: string,
): Promise<CheckReference | { reason: string }> {
  const { model, scaler } = metadata.artifacts;
  if (metadata.training && model && scaler) {
    const [checkpoint, scalerJson] = await Promise.all([ws.store.getBytes(model), ws.store.getBytes(scaler)]);
    return trainedReference(
      metadata.training.modelSpec,
      checkpoint,
      scalerFromJson(scalerJson.toString('utf8')),
    );
  }
  const graph = graphReference(onnx, outputName, metadata.features.length);
  return 'reason' in graph
    ? { reason: `the version records no network to check the file against (${graph.reason})` }
    : graph;
}

/**
 * `slipway serve`: loads each target's version (refusing to start on one that fails its check),
 * starts the HTTP service, registers it in the store (domain/serving/fleet.ts) and follows each
 * alias (application/aliasFollower.ts). A move made through ModelAliases with the serving fleet
 * (promotion, rollback, every CLI and workflow path) tells the service first: it loads, warms and
 * checks the new version beside the answering one, holds new requests across the write, and swaps
 * atomically at the commit (requests in flight finish on the old session), so no request is
 * answered by the version the alias has just left. Every `pollMs` it also reads the alias itself,
 * for moves that did not tell it. A version swapped out lately stays warm
 * (domain/serving/servedModel.ts) and goes straight back in. A version that fails its check is
 * refused: the old one keeps answering, the refusal is an event, a metric and an audit record, and
 * the same version is not tried again until the alias moves elsewhere and back.
 */
export async function startServing(
  ws: Workspace,
  targets: readonly ServeTarget[],
  options: ServeOptions,
): Promise<ServingService> {
  const emit = options.onEvent ?? (() => {});
  const metrics = new ServingMetrics();
  // Polled every `pollMs` for as long as the service runs: each poll lists the alias log and reads
  // only the entries written since the last one.
  const aliases = new ModelAliases(ws.registry, undefined, { rememberEntries: true });
  const instance = randomUUID().slice(0, 8);
  const models: ServedModel[] = [];
  for (const target of targets) {
    const ref = `${target.model}@${target.alias ?? 'production'}`;
    const { name, version, via } = await resolveModelRef(ws, ref);
    const alias = /^v?\d+$/.test(target.alias ?? '') ? undefined : via;
    const served = new ServedModel(name, alias);
    const started = Date.now();
    const loaded = await loadServingVersion(ws, name, version, options);
    if (!loaded.check.passed) {
      await releaseLoaded(loaded);
      throw new Error(`${name} v${version} failed its check, so it is not served: ${loaded.check.reason}.`);
    }
    served.swapIn(loaded);
    metrics.serving(name, alias ?? `v${version}`, version);
    emit({
      kind: 'loaded',
      model: name,
      alias,
      version,
      versionKind: loaded.kind ?? 'classifier',
      check: loaded.check,
      ms: Date.now() - started,
    });
    models.push(served);
  }
  // Shadow candidates start empty: their followers load, check and swap in the alias's version
  // (or refuse it) as for any move, and until then requests simply go unshadowed.
  const shadows = new Map<ServedModel, ServedModel>();
  if (options.shadowAlias !== undefined) {
    for (const served of models) shadows.set(served, new ServedModel(served.model, options.shadowAlias));
  }
  // Canaries too: a share of requests goes to the candidate once it is loaded and checked.
  const canaries = new Map<ServedModel, { candidate: ServedModel; split: CanarySplit }>();
  if (options.canary !== undefined) {
    for (const served of models) {
      canaries.set(served, {
        candidate: new ServedModel(served.model, options.canary.alias),
        split: new CanarySplit(options.canary.percent),
      });
    }
  }

  const monitor = options.monitor ? new ServingMonitor(ws, options.monitor, emit) : undefined;
  const followers = [...models.filter((m) => m.alias !== undefined), ...shadows.values()]
    .concat([...canaries.values()].map((c) => c.candidate))
    .map((served) => new AliasFollower(served, aliases, followerHooks(served)));
  const controlToken = randomBytes(24).toString('base64url');
  const running = await startScoringServer(
    {
      models,
      metrics,
      limits: options.limits,
      token: options.token,
      onRequest: options.onRequest,
      shadows,
      onShadow: options.onShadow,
      canaries,
      onScored: monitor ? (scored) => monitor.record(scored) : undefined,
      control: { token: controlToken, handle: (step, body) => controlStep(followers, step, body) },
    },
    { host: options.host, port: options.port },
  );

  function followerHooks(served: ServedModel): FollowerHooks {
    const alias = served.alias as string;
    return {
      load: (version) => loadServingVersion(ws, served.model, version, options),
      swapped: ({ from, to, ms, warm }) => {
        metrics.swap(served.model, alias, 'swapped');
        metrics.serving(served.model, alias, to);
        emit({ kind: 'swapped', model: served.model, alias, from, to, ms, warm });
      },
      refused: ({ version, kept, refusal, at }) => {
        metrics.swap(served.model, alias, 'refused');
        emit({ kind: 'refused', model: served.model, alias, version, kept, reason: refusal.reason });
        void options
          .recordRefusal?.({
            type: 'serving-refusal',
            model: served.model,
            version,
            actor: ws.identity,
            reason: `${alias} moved to v${version}, which the scoring service refused: ${refusal.reason}; ${kept === undefined ? 'no version was swapped out for it' : `v${kept} kept answering`}`,
            at: new Date().toISOString(),
            details: { alias, kept, instance, ...(refusal.check ? { check: refusal.check } : {}) },
            idempotencyKey: `serve/${instance}/${served.model}@${alias}/v${version}/refused/${at}`,
          })
          .catch((error: Error) =>
            emit({
              kind: 'poll-failed',
              model: served.model,
              alias,
              message: `the refusal of v${version} could not be written to the audit log: ${error.message}`,
            }),
          );
      },
    };
  }

  // Registered in the store, so an alias move tells this service before and as it moves
  // (domain/serving/fleet.ts); renewed on a lease, so one that died is soon ignored.
  const url = options.advertiseUrl ?? running.url;
  const registrations = [...new Set(followers.map((f) => f.served.model))].map((model) => ({
    instance,
    url,
    token: controlToken,
    model,
    aliases: [...new Set(followers.filter((f) => f.served.model === model).map((f) => f.alias))],
    host: hostname(),
    pid: process.pid,
    renewedAt: '',
    leaseSeconds: SERVICE_LEASE_SECONDS,
  }));
  const register = async () => {
    await Promise.all(
      registrations.map((r) =>
        writeRegistration(ws.store, { ...r, renewedAt: new Date().toISOString() }).catch((error: Error) =>
          emit({
            kind: 'poll-failed',
            model: r.model,
            message: `the service's registration could not be renewed (alias moves will not tell it before they move): ${error.message}`,
          }),
        ),
      ),
    );
  };
  await register();
  const renewal = setInterval(() => void register(), (SERVICE_LEASE_SECONDS * 1000) / 3).unref();

  let stopped = false;
  const sleepers = new Set<() => void>();
  const answering = followers.filter((f) => models.includes(f.served)).length;
  const polling = followers.map(async (follower, i) => {
    // Shadows and canaries look at once; the answering models have just been loaded.
    for (let first = i >= answering; !stopped; first = false) {
      if (!first) await sleep(options.pollMs, sleepers);
      if (stopped) break;
      try {
        await follower.poll();
      } catch (error) {
        emit({
          kind: 'poll-failed',
          model: follower.served.model,
          alias: follower.alias,
          message: (error as Error).message,
        });
      }
    }
  });

  return {
    ...running,
    models,
    metrics,
    async stop(timeoutMs) {
      stopped = true;
      clearInterval(renewal);
      // Unregistered first: a move made from now on does not wait for this service.
      await Promise.all(
        registrations.map((r) => removeRegistration(ws.store, r.model, instance).catch(() => undefined)),
      );
      for (const follower of followers) follower.stop();
      // The followers' sleeps are unref'd (they keep nothing alive): woken now, so stop() does not
      // wait on a timer the process may end during, before its caller has logged and flushed.
      for (const wake of [...sleepers]) wake();
      const result = await running.drain(timeoutMs);
      // After the drain: the rows of the last requests are in the last batches.
      await monitor?.stop();
      await Promise.all(polling);
      return result;
    },
  };
}

/** One control request of an alias move, for the followers of that model and alias. */
async function controlStep(
  followers: readonly AliasFollower[],
  step: string,
  body: unknown,
): Promise<unknown> {
  const parsed = controlBodySchema.safeParse(body);
  if (!parsed.success)
    throw badRequest('BadControlRequest', `Not a control request: ${parsed.error.message}`);
  const { model, alias } = parsed.data;
  const mine = followers.filter((f) => f.served.model === model && f.alias === alias);
  if (mine.length === 0)
    throw new RequestError(404, 'NotFollowed', `${model}@${alias} is not followed here.`);
  const { version, move, leaseMs, seq } = parsed.data;
  const need = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw badRequest('BadControlRequest', `${step} needs ${name}.`);
    return value;
  };
  switch (step) {
    case 'prepare': {
      const answers = await Promise.all(mine.map((f) => f.prepare(need(version, 'version'))));
      return answers.find((a) => !a.ready) ?? { ready: true };
    }
    case 'hold':
      return {
        held: mine.map((f) => f.hold(need(move, 'move'), need(leaseMs, 'leaseMs'))).every((a) => a.held),
      };
    case 'commit': {
      const answers = await Promise.all(mine.map((f) => f.commit(need(move, 'move'), need(seq, 'seq'))));
      return answers[0];
    }
    case 'release':
      return { released: mine.map((f) => f.release(need(move, 'move'))).some((a) => a.released) };
    default:
      throw new RequestError(404, 'NoSuchStep', `No control step ${step}: prepare, hold, commit or release.`);
  }
}

const controlBodySchema = z.object({
  model: z.string(),
  alias: z.string(),
  version: z.number().int().min(1).optional(),
  move: z.string().min(1).optional(),
  leaseMs: z.number().int().min(1).max(60_000).optional(),
  seq: z.number().int().min(1).optional(),
});

/** An unref'd sleep that `sleepers` can end early (at stop). */
function sleep(ms: number, sleepers: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      sleepers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms).unref();
    sleepers.add(wake);
  });
}

/**
 * The comparisons `serve --shadow` appended, summed up per model and pair of versions. A line that
 * is not a comparison is refused by its number (a file that is not a shadow log, a cut last line).
 */
export async function readShadowLog(path: string): Promise<ShadowPairReport[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT'
        ? `${path} does not exist: start \`slipway serve <model>@<alias> --shadow <alias>\` (--shadow-log names the file).`
        : `${path} cannot be read: ${error.message}`,
    );
  });
  const records = text
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, number }) => {
      let parsed: ReturnType<typeof shadowRecordSchema.safeParse> | undefined;
      try {
        parsed = shadowRecordSchema.safeParse(JSON.parse(line));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success)
        throw new Error(
          `${path}, line ${number}: not a shadow comparison written by \`slipway serve --shadow\`.`,
        );
      return parsed.data;
    });
  return summarizeShadow(records);
}

/**
 * The audit entries `serve-report --record` appends, one per pair of versions: the figures the
 * shadow gate (domain/gate/shadowGate.ts) judges, and the log they were summed from.
 */
export function serveReportEntries(
  pairs: readonly ShadowPairReport[],
  file: string,
  actor: string,
): Array<AuditEntry & { type: 'serve-report' }> {
  const at = new Date().toISOString();
  return pairs.map((p) => ({
    type: 'serve-report' as const,
    model: p.model,
    version: p.shadowVersion,
    actor,
    reason: `v${p.shadowVersion} (${p.shadowAlias}) in shadow of v${p.primaryVersion}: ${p.requests} requests, ${shadowTerms(p.score).agreement} agree on ${(100 * p.agreement).toFixed(2)} %`,
    at,
    details: {
      primaryVersion: p.primaryVersion,
      shadowAlias: p.shadowAlias,
      score: p.score,
      requests: p.requests,
      rows: p.rows,
      agreement: p.agreement,
      meanAbsDiff: p.meanAbsDiff,
      maxAbsDiff: p.maxAbsDiff,
      primaryMs: p.primaryMs,
      shadowMs: p.shadowMs,
      shadowLog: file,
    },
    idempotencyKey: `serve-report/${p.model}/v${p.primaryVersion}/v${p.shadowVersion}/${p.requests}/${at}`,
  }));
}
