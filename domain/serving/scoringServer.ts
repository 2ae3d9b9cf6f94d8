import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { explanationColumns, type RowExplainer } from '../explain/rowExplainer';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import type { AddedColumns } from '../scoring/columns';
import type { CanarySplit } from './canary';
import { badRequest, RequestError } from './errors';
import { explainCount, jsonExplanations } from './explainRequest';
import { DEFAULT_LIMITS, type RequestLimits } from './limits';
import type { ServingMetrics } from './metrics';
import { type RequestRows, readCsvRows, readJsonRows } from './requestRows';
import { ANOMALY_COLUMNS, anomalyCsvAnswer, anomalyJsonAnswer, csvAnswer, jsonAnswer } from './responseBody';
import {
  type ClassifierVersion,
  type Lease,
  type LoadedVersion,
  type ServedModel,
  textFeatures,
} from './servedModel';
import { compareAnomalyScores, compareScores, type ScoreComparison, type ShadowRecord } from './shadow';
import { rowsAs } from './shadowRows';

type AnomalyScores = { score: Float32Array; outlier: Float32Array };

/** The columns a CSV body must not already hold: the ones the answer adds (apply refuses them too). */
function addedColumnsOf(loaded: LoadedVersion): AddedColumns {
  return loaded.kind === 'anomaly'
    ? { predicted: PREDICTED_OUTLIER_OUTPUT, probability: ANOMALY_SCORE_OUTPUT }
    : loaded.columns;
}

export interface ScoringServerOptions {
  models: readonly ServedModel[];
  metrics: ServingMetrics;
  limits?: RequestLimits;
  /** When set, every scoring and model request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Called with one record per answered scoring request (the request log). */
  onRequest?: (record: RequestRecord) => void;
  /** Canaries: the candidate that answers a share of each served model's requests instead. */
  canaries?: ReadonlyMap<ServedModel, { candidate: ServedModel; split: CanarySplit }>;
  /** Shadow traffic: the candidate that also scores each served model's requests, unseen. */
  shadows?: ReadonlyMap<ServedModel, ServedModel>;
  /** Called with the comparison of each shadowed request. */
  onShadow?: (record: ShadowRecord) => void;
  /**
   * Called with the rows each served model's own version answered (not a canary's, not a
   * shadow's), after the answer is sent: what `serve --monitor` records.
   */
  onScored?: (scored: ScoredRows) => void;
  /**
   * The control routes an alias move uses (`POST /control/<step>`, domain/serving/fleet.ts), with
   * their own bearer token: `handle` answers a step's JSON body or throws a RequestError.
   */
  control?: { token: string; handle(step: string, body: unknown): Promise<unknown> };
}

/** One request's rows as the answering version scored them. */
export interface ScoredRows {
  loaded: LoadedVersion;
  /**
   * Row-major nRows x its numeric features (every feature but the categorical ones), in the
   * version's feature order.
   */
  x: Float32Array;
  /** Its categorical features' text, one array of nRows each (textFeatures order); empty when none. */
  texts: string[][];
  /** Per row: a classifier's probability of class 1, an anomaly version's anomaly_score. */
  scores: Float32Array;
}

export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  model?: string;
  version?: number;
  rows: number;
  ms: number;
  error?: string;
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops taking requests, lets the running ones finish (up to `timeoutMs`), closes the sessions. */
  drain(timeoutMs?: number): Promise<{ drained: boolean }>;
}

/**
 * The HTTP face of the scoring service (node:http, no framework: five routes).
 *
 * - `POST /score` (one model served) or `POST /score/<model>`: JSON (`{"rows": [...]}`) or CSV
 *   (`Content-Type: text/csv`) in, the columns apply adds out, in the same format; `?explain=k`
 *   adds the reason/effect columns of `apply --explain k` (a classifier's; an anomaly version answers
 *   anomaly_score and predicted_outlier, its categorical features read as text, and refuses explain). The answering
 *   version is in the body (JSON) and in the `Slipway-Model` and `Slipway-Model-Version` headers.
 * - `GET /models`: what is served, by which version, checked how.
 * - `GET /healthz`: the process answers. `GET /readyz`: 200 only when every model has a checked
 *   version in and the service is not draining. `GET /metrics`: Prometheus text.
 */
export async function startScoringServer(
  options: ScoringServerOptions,
  listen: { host: string; port: number },
): Promise<RunningServer> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const byName = new Map(options.models.map((m) => [m.model, m]));
  const token = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  const controlToken = options.control ? Buffer.from(`Bearer ${options.control.token}`) : undefined;
  let draining = false;
  let active = 0;
  let idle: (() => void) | undefined;

  const authorized = (req: IncomingMessage, expected = token): boolean => {
    if (!expected) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const server = createServer((req, res) => {
    active++;
    if (draining) res.setHeader('Connection', 'close');
    handle(req, res).finally(() => {
      active--;
      if (active === 0) idle?.();
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const [path, search = ''] = (req.url ?? '/').split('?') as [string, string?];
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, json({ status: 'ok' }));
    if (req.method === 'GET' && path === '/readyz') return readiness(res);
    if (req.method === 'GET' && path === '/metrics') {
      return send(res, 200, Buffer.from(options.metrics.render()), 'text/plain; version=0.0.4');
    }
    if (options.control && req.method === 'POST' && path.startsWith('/control/')) {
      return control(req, res, path.slice('/control/'.length));
    }
    if (!authorized(req)) {
      req.resume();
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(
        res,
        401,
        errorBody('Unauthorized', 'Send Authorization: Bearer <token> (the token given to serve).'),
      );
    }
    if (req.method === 'GET' && path === '/models') return send(res, 200, json(describeModels()));
    if (path === '/score' || path.startsWith('/score/')) {
      if (req.method !== 'POST') {
        req.resume();
        res.setHeader('Allow', 'POST');
        return send(res, 405, errorBody('MethodNotAllowed', `Score with POST ${path}.`));
      }
      return score(req, res, path, search, started);
    }
    req.resume();
    return send(
      res,
      404,
      errorBody(
        'NotFound',
        `No route ${req.method} ${path}. Routes: POST /score[/<model>], GET /models, /healthz, /readyz, /metrics.`,
      ),
    );
  }

  async function score(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    search: string,
    started: number,
  ) {
    let served: ServedModel | undefined;
    let lease: ReturnType<ServedModel['acquire']>;
    let rows = 0;
    let status = 200;
    let error: string | undefined;
    try {
      served = pickModel(path);
      const body = await readBody(req, limits.maxBodyBytes);
      // The lease is taken once the body is in, so the version answering is the one current then.
      const canary = options.canaries?.get(served);
      const key = req.headers['slipway-request-key'];
      const route =
        canary?.candidate.ready && canary.split.take(typeof key === 'string' ? key : undefined)
          ? canary.candidate
          : served;
      // An alias move in progress holds new requests until the swap (domain/serving/fleet.ts), so
      // none is answered by the version the alias has just left.
      const admission = route.admission;
      if (admission) await admission;
      lease = route.acquire();
      if (!lease) {
        res.setHeader('Retry-After', '1');
        throw new RequestError(
          503,
          'NotReady',
          `${served.model} has no checked version loaded yet. Try again shortly.`,
        );
      }
      const loaded = lease.loaded;
      res.setHeader('Slipway-Model', loaded.model);
      res.setHeader('Slipway-Model-Version', String(loaded.version));
      const csv = /^text\/csv\b/i.test(req.headers['content-type'] ?? '');
      // One reader for both kinds: a version's categorical features are read as text.
      const categorical = textFeatures(loaded);
      const input = csv
        ? readCsvRows(body, loaded.features, addedColumnsOf(loaded), limits, categorical)
        : readJsonRows(body, loaded.features, limits, categorical);
      rows = input.nRows;
      const k = explainCount(search, loaded.features.length);
      const answerer = { model: loaded.model, version: loaded.version, alias: route.alias };
      if (loaded.kind === 'anomaly') {
        if (k !== undefined) {
          throw new RequestError(
            422,
            'NotExplainable',
            `${loaded.model} v${loaded.version} is an anomaly version: its rows are not explained (apply refuses --explain for it too). Score without explain.`,
            { field: 'explain' },
          );
        }
        const t0 = performance.now();
        const scored = await loaded.scorer.score(input.x, input.nRows, input.texts);
        const primaryMs = performance.now() - t0;
        if (input.csv)
          send(
            res,
            200,
            anomalyCsvAnswer(input.csv, scored.score, scored.outlier),
            'text/csv; charset=utf-8',
          );
        else send(res, 200, anomalyJsonAnswer(answerer, scored.score, scored.outlier));
        if (route === served)
          options.onScored?.({ loaded, x: input.x, texts: input.texts, scores: scored.score });
        const shadow = options.shadows?.get(served)?.acquire();
        if (shadow) track(shadowScore(served, route.alias, loaded, shadow, input, scored, primaryMs));
        return;
      }
      const explainer = k === undefined ? undefined : explainerOf(loaded);
      const t0 = performance.now();
      const probabilities = await loaded.scorer.score(input.x, input.nRows, input.texts);
      const primaryMs = performance.now() - t0;
      const columns =
        k === undefined
          ? loaded.columns
          : { ...loaded.columns, explanation: explanationColumns(loaded.target, k) };
      if (input.csv) {
        const extra = explainer ? await explainer.explain(input.x, input.nRows, k) : undefined;
        send(
          res,
          200,
          csvAnswer(input.csv, columns, probabilities, loaded.threshold, extra),
          'text/csv; charset=utf-8',
        );
      } else {
        const extra = explainer
          ? jsonExplanations(
              await explainer.contributions(input.x, input.nRows),
              input.nRows,
              loaded.features,
              columns.explanation ?? [],
              k as number,
            )
          : undefined;
        send(res, 200, jsonAnswer(answerer, columns, probabilities, loaded.threshold, extra));
      }
      if (route === served)
        options.onScored?.({ loaded, x: input.x, texts: input.texts, scores: probabilities });
      // After the answer is sent: the candidate adds no latency to the request it shadows.
      const shadow = options.shadows?.get(served)?.acquire();
      if (shadow) track(shadowScore(served, route.alias, loaded, shadow, input, probabilities, primaryMs));
    } catch (err) {
      const refusal = asRequestError(err);
      status = refusal?.status ?? 500;
      error = refusal?.type ?? (err as Error).name;
      if (status >= 500 && !refusal) process.stderr.write(`slipway serve: ${(err as Error).stack ?? err}\n`);
      if (refusal?.status === 413) res.setHeader('Connection', 'close');
      const answer = lease?.loaded;
      send(
        res,
        status,
        errorBody(error, refusal ? refusal.message : `Scoring failed: ${(err as Error).message}`, {
          ...(refusal?.details ?? {}),
          ...(answer ? { model: answer.model, version: answer.version } : {}),
        }),
      );
      if (refusal?.status === 413) req.destroy();
    } finally {
      lease?.release();
      const seconds = (performance.now() - started) / 1000;
      const model = served?.model ?? '(unknown)';
      options.metrics.request(model, status, seconds, status === 200 ? rows : 0);
      options.onRequest?.({
        at: new Date().toISOString(),
        method: 'POST',
        path,
        status,
        model: served?.model,
        version: lease?.loaded.version,
        rows,
        ms: seconds * 1000,
        ...(error ? { error } : {}),
      });
    }
  }

  /** A step of an alias move (fleet.ts): authorized by the control token, JSON in and out. */
  async function control(req: IncomingMessage, res: ServerResponse, step: string) {
    try {
      if (!authorized(req, controlToken))
        throw new RequestError(401, 'Unauthorized', 'Not the control token.');
      const body = await readBody(req, 64 * 1024);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest('NotJson', 'A control request body is one JSON object.');
      }
      send(
        res,
        200,
        json(await (options.control as NonNullable<typeof options.control>).handle(step, parsed)),
      );
    } catch (err) {
      const refusal = asRequestError(err);
      send(
        res,
        refusal?.status ?? 500,
        errorBody(refusal?.type ?? 'ControlFailed', refusal?.message ?? (err as Error).message),
      );
    }
  }

  /** The version's warm explainer, or a 422 saying why this version cannot explain its rows. */
  function explainerOf(loaded: ClassifierVersion): RowExplainer {
    if ('explain' in loaded.explainer) return loaded.explainer;
    throw new RequestError(
      422,
      'NotExplainable',
      `${loaded.model} v${loaded.version} cannot explain its rows: ${loaded.explainer.notExplainable}. Score without explain.`,
      { field: 'explain' },
    );
  }

  /** Work started by a request that outlives its answer; a drain waits for it too. */
  function track(work: Promise<void>): void {
    active++;
    void work.finally(() => {
      active--;
      if (active === 0) idle?.();
    });
  }

  async function shadowScore(
    served: ServedModel,
    primaryAlias: string | undefined,
    primary: LoadedVersion,
    lease: Lease,
    answeredRows: RequestRows,
    answered: Float32Array | AnomalyScores,
    primaryMs: number,
  ): Promise<void> {
    const candidate = lease.loaded;
    try {
      const t0 = performance.now();
      // The same rows as the candidate takes them when its features differ (by name: another
      // order, fewer); one it takes and the answering version did not read alike is not compared.
      const shape = (v: LoadedVersion) => ({ features: v.features, text: textFeatures(v) });
      const input = sameInputs(primary, candidate)
        ? answeredRows
        : rowsAs(answeredRows, shape(primary), shape(candidate));
      if (!input) {
        throw new Error(
          `v${candidate.version} takes features v${primary.version} does not read alike ` +
            `(${candidate.features.join(', ')} against ${primary.features.join(', ')}): its answers do not compare`,
        );
      }
      let comparison: ScoreComparison;
      // Compared as each kind answers: probabilities and labels, or anomaly_score and outlier flags.
      if (primary.kind === 'anomaly' && candidate.kind === 'anomaly') {
        const shadowed = await candidate.scorer.score(input.x, input.nRows, input.texts);
        comparison = compareAnomalyScores(answered as AnomalyScores, shadowed);
      } else if (primary.kind !== 'anomaly' && candidate.kind !== 'anomaly') {
        const shadowed = await candidate.scorer.score(input.x, input.nRows, input.texts);
        comparison = compareScores(
          answered as Float32Array,
          shadowed,
          primary.threshold,
          candidate.threshold,
        );
      } else {
        throw new Error(
          `v${primary.version} is ${primary.kind ?? 'classifier'} and v${candidate.version} ${candidate.kind ?? 'classifier'}: their answers do not compare`,
        );
      }
      const shadowMs = performance.now() - t0;
      options.metrics.shadow(served.model, true);
      options.onShadow?.({
        at: new Date().toISOString(),
        model: served.model,
        primary: { alias: primaryAlias, version: primary.version, ms: primaryMs },
        shadow: {
          alias: options.shadows?.get(served)?.alias ?? '',
          version: candidate.version,
          ms: shadowMs,
        },
        ...comparison,
      });
    } catch (error) {
      options.metrics.shadow(served.model, false);
      process.stderr.write(
        `slipway serve: shadow v${candidate.version} of ${served.model} failed: ${(error as Error).message}\n`,
      );
    } finally {
      lease.release();
    }
  }

  function pickModel(path: string): ServedModel {
    const name = decodeURIComponent(path.slice('/score/'.length));
    if (path === '/score' || name === '') {
      if (options.models.length === 1) return options.models[0] as ServedModel;
      throw new RequestError(
        404,
        'ModelNotNamed',
        `Several models are served: POST /score/<model>, one of ${[...byName.keys()].join(', ')}.`,
      );
    }
    const served = byName.get(name);
    if (!served) {
      throw new RequestError(
        404,
        'UnknownModel',
        `${name} is not served here; served: ${[...byName.keys()].join(', ')}.`,
        {
          model: name,
        },
      );
    }
    return served;
  }

  function describeModels() {
    return {
      models: options.models.map((m) => ({
        model: m.model,
        alias: m.alias,
        version: m.version ?? null,
        ready: m.ready,
        warmSpares: m.spareVersions,
        kind: m.loaded ? (m.loaded.kind ?? 'classifier') : undefined,
        features: m.loaded?.features,
        categorical: m.loaded ? textFeatures(m.loaded) : undefined,
        threshold: m.loaded?.threshold,
        columns: m.loaded
          ? m.loaded.kind === 'anomaly'
            ? [...ANOMALY_COLUMNS]
            : [m.loaded.columns.predicted, m.loaded.columns.probability]
          : undefined,
        check: m.loaded?.check,
        explain: m.loaded
          ? m.loaded.kind === 'anomaly'
            ? { available: false, reason: 'anomaly versions are not explained' }
            : 'explain' in m.loaded.explainer
              ? { available: true }
              : { available: false, reason: m.loaded.explainer.notExplainable }
          : undefined,
        shadow: shadowOf(m),
        canary: canaryOf(m),
      })),
    };
  }

  function canaryOf(m: ServedModel) {
    const canary = options.canaries?.get(m);
    return canary
      ? {
          alias: canary.candidate.alias,
          percent: canary.split.percent,
          version: canary.candidate.version ?? null,
        }
      : undefined;
  }

  function shadowOf(m: ServedModel) {
    const shadow = options.shadows?.get(m);
    return shadow
      ? { alias: shadow.alias, version: shadow.version ?? null, check: shadow.loaded?.check }
      : undefined;
  }

  function readiness(res: ServerResponse) {
    const models = options.models.map((m) => ({
      model: m.model,
      alias: m.alias,
      version: m.version ?? null,
      ready: m.ready,
    }));
    const ready = !draining && models.every((m) => m.ready);
    return send(res, ready ? 200 : 503, json({ ready, draining, models }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    server,
    url: `http://${host}:${address.port}`,
    async drain(timeoutMs = 30_000) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const finished = active === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
      // Shadow and canary candidates too: their model threads would keep the process alive.
      const candidates = [
        ...(options.shadows?.values() ?? []),
        ...[...(options.canaries?.values() ?? [])].map((c) => c.candidate),
      ];
      await Promise.all([...options.models, ...candidates].map((m) => m.shutdown()));
      return { drained: outcome === 'done' };
    },
  };
}

/** True when two versions read a request's rows alike: the same features, the same ones as text. */
function sameInputs(a: LoadedVersion, b: LoadedVersion): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.features, b.features) && same(textFeatures(a), textFeatures(b));
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const tooLarge = (maxBytes: number) =>
  new RequestError(
    413,
    'BodyTooLarge',
    `The request body exceeds ${maxBytes} bytes. Split the rows into smaller batches.`,
    {
      maxBytes,
    },
  );

/** Refusals of the input: ours, and the DatasetError / ScoringError of the shared CSV readers. */
function asRequestError(err: unknown): RequestError | undefined {
  if (err instanceof RequestError) return err;
  const e = err as {
    type?: unknown;
    retryable?: unknown;
    message: string;
    details?: Record<string, unknown>;
  };
  if (err instanceof Error && typeof e.type === 'string' && e.retryable === false) {
    return badRequest(e.type, e.message, e.details);
  }
  return undefined;
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`);
}

function errorBody(type: string, message: string, details?: Record<string, unknown>): Buffer {
  return json({ error: { type, message, ...(details && Object.keys(details).length ? { details } : {}) } });
}

function send(res: ServerResponse, status: number, body: Buffer, type = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
}
