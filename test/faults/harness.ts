import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type SlipwayConfig } from '../../config/env';
import { progressQuery } from '../../contracts/messages';
import { verifyAuditLog } from '../../domain/audit/verify';
import { sourceArtifacts } from '../../domain/lineage/graph';
import { upstreamLineage } from '../../domain/lineage/query';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { ensureMinioBinary, ensureTemporalBinary } from '../../infra/binaries';
import { ensureBucket, type MinioServer, startMinio } from '../../infra/minioServer';
import { freePort, stopProcessGroup } from '../../infra/processes';
import { startTemporalDevServer, type TemporalDevServer } from '../../infra/temporalServer';
import type { PipelineResult } from '../../workflows/trainToDeploy';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');
const BUCKET = 'faults';

export interface FaultReport {
  fault: string;
  /** Times the scenario ran (each with its fault performed, or it fails). */
  trials: number;
  /** Pipeline runs started across those trials. */
  runs: number;
  completed: number;
  /** Runs that failed as the scenario expects, with the cause it names (disk full). */
  failedCleanly: number;
  artifactsVerified: number;
  dataLost: number;
  /** Epoch each killed training resumed from (0 would mean it started over). */
  resumedFrom: number[];
  notes: string[];
}

/**
 * A Slipway installation of its own, whose services the fault scenarios may stop and restart:
 * a Temporal dev server with a persistent database, a MinIO, and two worker processes.
 */
export class FaultLab {
  private temporal!: TemporalDevServer;
  private minio!: MinioServer;
  private readonly workers = new Map<string, ChildProcess>();
  private ports!: { temporal: number; minio: number; console: number };
  config!: SlipwayConfig;
  client!: Client;
  store!: ArtifactStore;
  private connection!: Connection;

  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const [temporal, minio, console] = await Promise.all([freePort(), freePort(), freePort()]);
    this.ports = { temporal, minio, console };
    await Promise.all([this.startTemporal(), this.startMinio()]);
    await ensureBucket(this.minio, BUCKET, 'us-east-1');
    this.config = loadConfig({
      SLIPWAY_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
      SLIPWAY_TASK_QUEUE: `faults-${randomUUID()}`,
      SLIPWAY_TRAINING_TASK_QUEUE: `faults-training-${randomUUID()}`,
      SLIPWAY_STATE_DIR: this.dir,
      SLIPWAY_ARTIFACTS: `s3://${BUCKET}/${randomUUID()}`,
      SLIPWAY_S3_ENDPOINT: this.minio.endpoint,
      SLIPWAY_S3_ACCESS_KEY: this.minio.accessKey,
      SLIPWAY_S3_SECRET_KEY: this.minio.secretKey,
    });
    this.store = openArtifactStore(this.config);
    this.connection = await Connection.connect({ address: this.config.temporalAddress });
    this.client = new Client({ connection: this.connection });
    this.startWorker('w1');
    this.startWorker('w2');
  }

  async stop(): Promise<void> {
    for (const name of [...this.workers.keys()]) await this.killWorker(name, 'SIGTERM');
    await this.connection?.close().catch(() => {});
    await Promise.all([this.temporal?.stop(), this.minio?.stop()]);
  }

  private async startTemporal(): Promise<void> {
    this.temporal = await startTemporalDevServer({
      binary: await ensureTemporalBinary(loadConfig()),
      dbFile: join(this.dir, 'temporal.sqlite'),
      logFile: join(this.dir, 'temporal.log'),
      port: this.ports.temporal,
      uiPort: 0,
      namespace: 'default',
      headless: true,
    });
  }

  private async startMinio(): Promise<void> {
    this.minio = await startMinio({
      binary: await ensureMinioBinary(loadConfig()),
      dataDir: join(this.dir, 'minio-data'),
      logFile: join(this.dir, 'minio.log'),
      port: this.ports.minio,
      consolePort: this.ports.console,
      rootUser: 'faults',
      rootPassword: 'faults-secret-key',
    });
  }

  /** The lab's SLIPWAY_* settings as strings, for a child process. */
  env(): Record<string, string> {
    return Object.fromEntries(
      Object.entries(this.config.env)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
  }

  /** A `slipway worker` process polling both queues, in its own process group; `env` overrides settings. */
  startWorker(name: string, env: Record<string, string> = {}): void {
    const child = spawn(SLIPWAY, ['worker', '--identity', `faults-${name}`], {
      env: { ...process.env, ...this.env(), ...env },
      stdio: 'ignore',
      detached: true,
    });
    this.workers.set(name, child);
  }

  /**
   * Stops a worker this lab started and waits until its process is gone. A name the lab did not
   * start is an error, never a silent no-op: a scenario must not pass without its fault.
   */
  async killWorker(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.workers.get(name);
    if (!child || child.pid === undefined) {
      throw new Error(
        `no worker named "${name}" to kill (this lab started: ${[...this.workers.keys()].join(', ') || 'none'})`,
      );
    }
    this.workers.delete(name);
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((done) => child.once('exit', () => done()));
    if (signal === 'SIGKILL') {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    await stopProcessGroup(child.pid, 15_000);
    await exited;
  }

  /** Names of the workers running now. */
  workerNames(): string[] {
    return [...this.workers.keys()];
  }

  /**
   * SIGKILLs the Temporal dev server's process group (no shutdown, the SQLite database as the kill
   * left it), waits, and starts it again on the same database and port.
   */
  async killTemporal(downMs: number): Promise<void> {
    const pid = this.temporal.pid;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      throw new Error(`the Temporal dev server (pid ${pid}) was not running, so it could not be killed`);
    }
    await stopProcessGroup(pid, 5_000);
    await new Promise((r) => setTimeout(r, downMs));
    await this.startTemporal();
  }

  async restartMinio(downMs: number): Promise<void> {
    await this.minio.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.startMinio();
  }

  stopMinio(): Promise<void> {
    return this.minio.stop();
  }

  startMinioAgain(): Promise<void> {
    return this.startMinio();
  }

  /** Waits until the run is waiting for its review (approvers were named). */
  async waitForReviewOpen(handle: WorkflowHandle, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await handle.query(progressQuery)).review) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${handle.workflowId} did not open its review in time`);
  }

  /**
   * Waits until `activityType` has started on one of the lab's workers, SIGKILLs that worker and
   * starts a replacement; returns the victim's name. Polls without pause, since registration lasts
   * a fraction of a second. Throws if the run gets past the activity first: a scenario that did
   * not perform its fault fails.
   */
  async killWorkerDuring(handle: WorkflowHandle, activityType: string, timeoutMs = 300_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let seen = false;
    while (Date.now() < deadline) {
      const description = await handle.describe().catch(() => undefined);
      if (description && description.status.name !== 'RUNNING') break;
      const pending = description?.raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
      const name = pending?.lastWorkerIdentity?.replace(/^faults-/, '');
      if (pending) seen = true;
      if (pending && name && this.workers.has(name) && Number(pending.state) === 2 /* STARTED */) {
        await this.killWorker(name, 'SIGKILL');
        this.startWorker(`${name}-replacement`);
        return name;
      }
      if (seen && !pending) break;
    }
    throw new Error(
      `fault not performed: ${handle.workflowId} got past ${activityType} before a worker running it could be killed`,
    );
  }

  /** Waits until the run has `activityType` pending (scheduled or started). */
  async waitForActivity(handle: WorkflowHandle, activityType: string, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING')
        throw new Error(`${handle.workflowId} ended (${description.status.name}) before ${activityType}`);
      if (description.raw.pendingActivities?.some((a) => a.activityType?.name === activityType)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${handle.workflowId} did not reach ${activityType} in time`);
  }

  startPipeline(
    model: string,
    seed: number,
    options: {
      rows?: number;
      epochs?: number;
      /** Run on other queues (a worker with other settings polls them). */
      queues?: { main: string; training: string };
      /** People who must approve before promotion. */
      approvers?: string[];
    } = {},
  ): Promise<WorkflowHandle> {
    return this.client.workflow.start('trainToDeploy', {
      taskQueue: options.queues?.main ?? this.config.taskQueue,
      workflowId: `faults-${model}-${randomUUID().slice(0, 8)}`,
      args: [
        {
          source: `synthetic:fraud?rows=${options.rows ?? 3000}&seed=${seed}`,
          modelName: model,
          spec: { ...referenceModelSpec, epochs: options.epochs ?? 2 },
          trainingTaskQueue: options.queues?.training ?? this.config.trainingTaskQueue,
          trainingHeartbeatTimeoutSeconds: 10,
          // Long enough for a step whose CPU-bound stretches delay its heartbeats on a loaded machine.
          stepHeartbeatTimeoutSeconds: 20,
          cache: false,
          createdBy: 'faults',
          // The gate is not under test: every version passes it, so "completed" means promoted.
          gate: {
            metric: { thresholds: { minRecall: 0 }, champion: { maxRegression: 1 } },
            ...(options.approvers
              ? { review: { required: true, approvers: options.approvers, timeoutSeconds: 3600 } }
              : {}),
          },
        },
      ],
    });
  }

  /** Waits until a run's training has a checkpoint on the server; returns the worker running it. */
  async waitForTraining(handle: WorkflowHandle, timeoutMs = 180_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const description = await handle.describe().catch(() => undefined);
      if (description && description.status.name !== 'RUNNING') {
        throw new Error(
          `${handle.workflowId} ended (${description.status.name}) before its training checkpoint reached the server: ` +
            'the fault came too late to matter; train on more rows or epochs.',
        );
      }
      const training = description?.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
      if (training?.heartbeatDetails?.payloads?.[0]?.data?.length) {
        // The worker that heartbeated: one of ours, or the scenario cannot know whom to kill.
        const name = training.lastWorkerIdentity?.replace(/^faults-/, '');
        if (name === undefined || !this.workers.has(name)) {
          throw new Error(
            `${handle.workflowId} is training on "${training.lastWorkerIdentity}", not a worker this lab started (${this.workerNames().join(', ')})`,
          );
        }
        return name;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${handle.workflowId} did not reach a training checkpoint in time`);
  }

  /**
   * What "nothing lost" means here: every result's version is unique; every artifact its metadata
   * names reads back with its checksum; every content-addressed object in the store hashes to its
   * name (nothing half-written); lineage reaches the source; the audit chain is intact.
   */
  async verify(
    fault: string,
    results: PipelineResult[],
    runs: number,
    notes: string[] = [],
    extra: { failedCleanly?: number; resumedFrom?: number[]; store?: ArtifactStore } = {},
  ): Promise<FaultReport> {
    const store = extra.store ?? this.store;
    const registry = new ModelRegistry(store);
    let artifactsVerified = 0;
    let dataLost = 0;
    const seen = new Set<string>();
    for (const result of results) {
      const id = `${result.model}@${result.version}`;
      if (seen.has(id)) {
        dataLost++;
        notes.push(`version ${id} registered twice`);
      }
      seen.add(id);
      const metadata = await registry.getVersion(result.model, result.version);
      for (const ref of [...Object.values(metadata.artifacts), metadata.registration.modelCard]) {
        await store.getBytes(ref).then(
          () => artifactsVerified++,
          (err: Error) => {
            dataLost++;
            notes.push(`${id}: ${ref.kind} unreadable: ${err.message}`);
          },
        );
      }
      const sources = sourceArtifacts(await upstreamLineage(store, result.model, result.version));
      if (sources.length !== 1 || sources[0]?.sha256 !== result.dataset.sourceSha256) {
        dataLost++;
        notes.push(
          `${id}: lineage does not reach its source ${result.dataset.sourceSha256.slice(0, 12)} ` +
            `(roots: ${sources.map((r) => `${r.kind} ${r.sha256.slice(0, 12)} ${r.uri}`).join('; ')})`,
        );
      }
    }
    for (const object of await store.list('')) {
      const named = /\/sha256\/([0-9a-f]{64})\.[a-z]+$/.exec(object.key)?.[1];
      if (!named) continue;
      const bytes = await store.getDocument(object.key);
      if (!bytes || createHash('sha256').update(bytes).digest('hex') !== named) {
        dataLost++;
        notes.push(`half-written or corrupt object ${object.key}`);
      }
    }
    const audit = await verifyAuditLog(store, { checkArtifacts: false });
    if (!audit.ok) {
      dataLost++;
      notes.push(`audit chain broken: ${audit.firstBroken?.detail}`);
    }
    return {
      fault,
      trials: 1,
      runs,
      completed: results.length,
      failedCleanly: extra.failedCleanly ?? 0,
      artifactsVerified,
      dataLost,
      resumedFrom: extra.resumedFrom ?? [],
      notes,
    };
  }
}

/** Sums the reports of one scenario's trials. */
export function mergeReports(reports: FaultReport[]): FaultReport[] {
  const merged = new Map<string, FaultReport>();
  for (const r of reports) {
    const m = merged.get(r.fault);
    if (!m) merged.set(r.fault, { ...r, notes: [...r.notes], resumedFrom: [...r.resumedFrom] });
    else {
      m.trials += r.trials;
      m.runs += r.runs;
      m.completed += r.completed;
      m.failedCleanly += r.failedCleanly;
      m.artifactsVerified += r.artifactsVerified;
      m.dataLost += r.dataLost;
      m.resumedFrom.push(...r.resumedFrom);
      m.notes.push(...r.notes);
    }
  }
  return [...merged.values()];
}

/** A scenario passed when every run completed or failed as expected, nothing was lost and nothing noted. */
export function passed(r: FaultReport): boolean {
  return r.completed + r.failedCleanly === r.runs && r.dataLost === 0 && r.notes.length === 0;
}

export function reportTable(reports: FaultReport[]): string {
  const rows = reports.map(
    (r) =>
      `| ${r.fault} | ${r.trials} | ${r.runs} | ${r.completed} | ${r.failedCleanly} | ${r.dataLost} | ` +
      `${r.resumedFrom.length === 0 ? '-' : r.resumedFrom.join(', ')} | ${r.artifactsVerified} |`,
  );
  return [
    '| scenario | trials | runs | completed | failed cleanly | lost | resumed from epoch | artifacts verified |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...rows,
  ].join('\n');
}
