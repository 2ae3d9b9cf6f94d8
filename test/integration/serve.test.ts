import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../domain/audit/auditLog';
import { ModelAliases } from '../../domain/registry/aliases';
import type { AliasMoveCoordinator, ServingNotice } from '../../domain/registry/moveCoordinator';
import { ModelRegistry } from '../../domain/registry/registry';
import { ServingFleet } from '../../domain/serving/fleet';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { monitoringPrefix } from '../../domain/validation/monitoring';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { slipwayAs } from '../support/cli';
import { smallNetworkSpec } from '../support/modelSpecs';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { type ServeProcess, startServeProcess } from '../support/serveProcess';

/** One answered request as the load loop saw it. */
interface Answer {
  start: number;
  end: number;
  status: number;
  version?: number;
  error?: string;
}

/**
 * An alias move as the test made it: the alias pointed to `version` from some moment in
 * [start, end], the time of the one write that moved it (after the services were prepared and
 * held, before they were told to swap).
 */
interface Move {
  start: number;
  end: number;
  version: number;
  notice?: ServingNotice;
}

/**
 * Issue 24 on the real stack: `slipway serve <model>@production` as a child process, against
 * versions trained through Temporal and stored in MinIO. The alias moves ten times (promotions
 * and rollbacks) under steady load; then a version whose ONNX file is not its trained network is
 * promoted and must be refused; then SIGTERM drains.
 */
describe('slipway serve follows the alias', () => {
  let world: PipelineWorld;
  let store: ArtifactStore;
  let registry: ModelRegistry;
  let aliases: ModelAliases;
  /** When the last move's alias log write started and ended (the serving fleet, timed). */
  let written: { start: number; end: number; notice?: ServingNotice } = { start: 0, end: 0 };
  let serve: ServeProcess | undefined;
  const model = 'fraud-served';
  let features: string[] = [];

  const train = async (seed: number): Promise<PipelineResult> =>
    world.client.workflow.execute('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `serve-it-${randomUUID()}`,
      args: [
        {
          source: `synthetic:fraud?rows=4000&seed=${seed}`,
          modelName: model,
          spec: smallNetworkSpec(16, { epochs: 2, batchSize: 512 }),
          createdBy: 'carol',
          trainingTaskQueue: world.config.trainingTaskQueue,
          gate: { promote: false },
        },
      ],
    }) as Promise<PipelineResult>;

  const move = async (version: number): Promise<Move> => {
    const { serving } = await aliases.move(model, 'production', {
      version,
      action: 'promote',
      actor: 'carol',
      reason: 'serve test',
      at: new Date().toISOString(),
    });
    return { ...written, version, notice: serving };
  };
  const rollback = async (): Promise<Move> => {
    const { entry, serving } = await aliases.rollback(model, 'production', {
      actor: 'carol',
      reason: 'serve test',
      at: new Date().toISOString(),
    });
    return { ...written, version: entry.version, notice: serving };
  };
  /** `slipway rollback`: the durable path (a workflow whose activity moves the alias), timed from outside. */
  const rollbackByCli = async (): Promise<Move> => {
    const start = Date.now();
    const rolled = await slipwayAs('carol', world.env, [
      'rollback',
      model,
      '--reason',
      'serve test',
      '--json',
    ]);
    expect(rolled.code, rolled.stderr).toBe(0);
    return { start, end: Date.now(), version: (JSON.parse(rolled.stdout) as { version: number }).version };
  };

  beforeAll(async () => {
    world = await startPipelineWorld('serve-it');
    store = openArtifactStore(world.config);
    registry = new ModelRegistry(store);
    // The serving fleet, as every writer of the alias log uses it, timed around the write.
    const fleet = new ServingFleet(store);
    const timed: AliasMoveCoordinator = {
      prepare: async (planned) => {
        const prepared = await fleet.prepare(planned);
        const start = Date.now();
        return {
          commit: async (entry) => {
            written = { start, end: Date.now() };
            return prepared.commit(entry);
          },
          abort: () => prepared.abort(),
        };
      },
    };
    aliases = new ModelAliases(registry, undefined, { coordinator: timed });
    for (const seed of [11, 12, 13]) await train(seed);
    const v2 = await registry.getVersion(model, 2);
    const v3 = await registry.getVersion(model, 3);
    features = v2.features;
    // Version 4: version 2's record (its trained weights and scaler) with version 3's ONNX file, as
    // a swapped or damaged artifact would leave it. Every stored byte is intact; the file is not
    // the network the record says it is.
    const { schemaVersion: _s, name: _n, version: _v, registration: _r, ...draft } = v2;
    await registry.registerVersion(model, {
      idempotencyKey: 'serve-it/tampered',
      build: { ...draft, artifacts: { ...draft.artifacts, onnx: v3.artifacts.onnx } },
    });
    await move(1);
    await aliases.move(model, 'staging', {
      version: 2,
      action: 'set',
      actor: 'carol',
      reason: 'shadow candidate',
      at: new Date().toISOString(),
    });
  }, 600_000);

  afterAll(async () => {
    if (serve) await serve.stop();
    await world?.close();
  });

  const row = (i: number) => Object.fromEntries(features.map((f, j) => [f, ((i * 31 + j * 7) % 13) - 6]));
  const score = async (url: string, i: number): Promise<Answer> => {
    const start = Date.now();
    try {
      const res = await fetch(`${url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' },
        body: JSON.stringify({ rows: [row(i)] }),
      });
      const body = (await res.json()) as { version?: number; rows?: unknown[]; error?: { message: string } };
      const end = Date.now();
      return {
        start,
        end,
        status: res.status,
        version: Number(res.headers.get('slipway-model-version')),
        ...(res.status === 200 && body.version !== undefined && body.rows?.length === 1
          ? {}
          : { error: body.error?.message ?? 'bad body' }),
      };
    } catch (error) {
      return { start, end: Date.now(), status: 0, error: (error as Error).message };
    }
  };

  /** Steady load: `clients` loops of single-row requests until `stop` resolves. */
  function load(url: string, clients: number) {
    const answers: Answer[] = [];
    let running = true;
    const loops = Array.from({ length: clients }, async (_, c) => {
      for (let i = c; running; i += clients) answers.push(await score(url, i));
    });
    return {
      answers,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        return answers;
      },
    };
  }

  const servedVersion = async (url: string) =>
    ((await (await fetch(`${url}/readyz`)).json()) as { models: Array<{ version: number }> }).models[0]
      ?.version;

  it('moves the alias ten times under load: every answer by a target of the alias during its request, on the final version at once', {
    timeout: 300_000,
  }, async () => {
    serve = await startServeProcess({ ...world.env, SLIPWAY_USER: 'ops', SLIPWAY_SERVE_TOKEN: 't0ken' }, [
      `${model}@production`,
      '--port',
      '0',
      // Slow on purpose: the moves must reach the service without its poll.
      '--poll',
      '30',
      '--shadow',
      'staging',
      '--shadow-log',
      join(world.dir, 'shadow.jsonl'),
    ]);
    const { url } = serve;
    expect(await servedVersion(url)).toBe(1);
    const unauthorised = await fetch(`${url}/score`, { method: 'POST', body: '{}' });
    expect(unauthorised.status).toBe(401);
    // The control routes take the token the service registered, not the scoring one.
    const forged = await fetch(`${url}/control/hold`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0ken' },
      body: '{}',
    });
    expect(forged.status).toBe(401);

    const traffic = load(url, 4);
    const moves: Move[] = [{ start: 0, end: 0, version: 1 }];
    const plan: Array<number | 'rollback' | 'cli-rollback'> = [
      2,
      3,
      'rollback',
      'cli-rollback',
      3,
      'rollback',
      2,
      3,
      'rollback',
      3,
    ];
    const swapMs: number[] = [];
    for (const step of plan) {
      await new Promise((r) => setTimeout(r, 500));
      const moved =
        step === 'rollback'
          ? await rollback()
          : step === 'cli-rollback'
            ? await rollbackByCli()
            : await move(step);
      moves.push(moved);
      if (moved.notice) expect(moved.notice).toMatchObject({ services: 1, late: [] });
      // The service is on the new target within 2 s of the move (at once: it swapped at the commit).
      for (;;) {
        if ((await servedVersion(url)) === moved.version) break;
        expect(Date.now() - moved.end, `still not on v${moved.version}`).toBeLessThan(2000);
        await new Promise((r) => setTimeout(r, 20));
      }
      swapMs.push(Date.now() - moved.end);
    }
    await new Promise((r) => setTimeout(r, 300));
    const answers = await traffic.stop();

    const failed = answers.filter((a) => a.status !== 200 || a.error);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(answers.length).toBeGreaterThan(200);
    expect(moves.map((m) => m.version)).toEqual([1, 2, 3, 2, 1, 3, 1, 2, 3, 2, 3]);

    // Each answer's version was the alias's target at some moment of its request [start, end].
    const targetsDuring = (from: number, to: number) => {
      const out = new Set<number>();
      for (let i = 0; i < moves.length; i++) {
        const m = moves[i] as Move;
        const next = moves[i + 1];
        // m.version is the target from some moment in [m.start, m.end] until some moment of next's write.
        if (m.start <= to && (next === undefined || next.end >= from)) out.add(m.version);
      }
      return out;
    };
    const stale = answers.filter((a) => !targetsDuring(a.start, a.end).has(a.version as number));
    const held = answers.filter((a) => moves.some((m) => a.start < m.start && a.end > m.end));
    console.log(
      `serve: ${answers.length} requests over 10 moves, 0 failed; on the new version ${Math.min(...swapMs)}-${Math.max(...swapMs)} ms ` +
        `after each move returned; ${held.length} requests spanned a move's write; ${stale.length} answered by a version the alias had left`,
    );
    expect(stale.slice(0, 5)).toEqual([]);
    // The rollback by `slipway rollback` went through the activity, which audits what the service did.
    const audited = (await new AuditLog(store).entries({ model })).find((e) => e.record?.type === 'rollback');
    expect(audited?.record?.details).toMatchObject({ serving: { services: 1, late: [] } });
    const notice = (audited?.record?.details as { serving?: ServingNotice } | undefined)?.serving;
    expect(notice?.swappedAtMove).toHaveLength(1);
    // Rollbacks to a version swapped out lately go straight back in, without a load.
    const warm = ((serve as ServeProcess).stderr().match(/kept warm, swapped back/g) ?? []).length;
    console.log(`serve: ${warm} of the 10 moves went back to a version kept warm`);
    expect(warm).toBeGreaterThan(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /slipway_serve_version_changes_total\{model="fraud-served",alias="production",outcome="swapped"\} 10/,
    );
    expect(metrics).toMatch(/slipway_serve_model_version\{model="fraud-served",alias="production"\} 3/);
    expect(metrics).toMatch(/slipway_serve_model_version\{model="fraud-served",alias="staging"\} 2/);

    // Every answered request was also scored by staging's v2, unseen; serve-report sums it up.
    const report = await slipwayAs('ops', world.env, [
      'serve-report',
      join(world.dir, 'shadow.jsonl'),
      '--json',
    ]);
    expect(report.code, report.stderr).toBe(0);
    const { pairs } = JSON.parse(report.stdout) as {
      pairs: Array<{
        primaryVersion: number;
        shadowVersion: number;
        requests: number;
        rows: number;
        agreement: number;
      }>;
    };
    expect(pairs.every((p) => p.shadowVersion === 2 && p.agreement >= 0 && p.agreement <= 1)).toBe(true);
    expect(new Set(pairs.map((p) => p.primaryVersion))).toEqual(new Set([1, 2, 3]));
    // v2 in shadow of itself: the same sessions' arithmetic, the same labels.
    expect(pairs.find((p) => p.primaryVersion === 2)?.agreement).toBe(1);
    const shadowedRequests = pairs.reduce((n, p) => n + p.requests, 0);
    expect(shadowedRequests).toBeGreaterThan(0.9 * answers.length);
    expect(shadowedRequests).toBeLessThanOrEqual(answers.length + 1);
  });

  it('refuses a version whose file is not its trained network, keeps answering on the old one, and audits it', {
    timeout: 120_000,
  }, async () => {
    const url = (serve as ServeProcess).url;
    expect(await servedVersion(url)).toBe(3);
    // The service refused v4 when the move prepared it, so it held nothing; the move went on.
    const moved = await move(4);
    expect(moved.notice?.swappedAtMove).toEqual([]);
    expect(moved.notice?.late).toMatchObject([
      {
        phase: 'prepare',
        reason: expect.stringMatching(/^it refused v4: it failed its check: on probe row/),
      },
    ]);
    const audit = new AuditLog(store);
    let refusal: Awaited<ReturnType<AuditLog['entries']>>[number] | undefined;
    const deadline = Date.now() + 60_000;
    while (!refusal && Date.now() < deadline) {
      refusal = (await audit.entries({ model })).find((e) => e.record?.type === 'serving-refusal');
      if (!refusal) await new Promise((r) => setTimeout(r, 200));
    }
    expect(refusal?.record).toMatchObject({
      type: 'serving-refusal',
      model,
      version: 4,
      actor: 'ops',
      details: { alias: 'production', kept: 3, check: { passed: false, source: 'trained' } },
    });
    expect(refusal?.record?.reason).toMatch(
      /production moved to v4, which the scoring service refused: it failed its check: on probe row/,
    );
    const answer = await score(url, 1);
    expect(answer).toMatchObject({ status: 200, version: 3 });
    expect(await servedVersion(url)).toBe(3);
    expect((serve as ServeProcess).stderr()).toMatch(/REFUSED v4 \(v3 keeps answering\)/);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/outcome="refused"\} 1/);

    // Back to a good version: followed again.
    await rollback();
    await new Promise((r) => setTimeout(r, 500));
    expect(await servedVersion(url)).toBe(3);
  });

  it('explains rows on ?explain=k exactly as apply --explain k does, and refuses a bad k', {
    timeout: 60_000,
  }, async () => {
    const url = (serve as ServeProcess).url;
    const input = join(world.dir, 'explain-in.csv');
    const output = join(world.dir, 'explain-out.csv');
    const csv = `${features.join(',')}\n${[0, 1, 2, 3, 4].map((i) => features.map((f) => row(i)[f]).join(',')).join('\n')}\n`;
    await writeFile(input, csv);
    const applied = await slipwayAs('ops', world.env, [
      'apply',
      `${model}@3`,
      '--input',
      input,
      '--output',
      output,
      '--explain',
      '3',
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    const post = (query: string, body: string, type: string) =>
      fetch(`${url}/score${query}`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: 'Bearer t0ken' },
        body,
      });
    const served = await post('?explain=3', csv, 'text/csv');
    expect(served.status).toBe(200);
    expect(served.headers.get('slipway-model-version')).toBe('3');
    // The same file byte for byte: the same columns, reasons and effects.
    expect(await served.text()).toBe(await readFile(output, 'utf8'));
    const json = (await (
      await post('?explain=3', JSON.stringify({ rows: [row(0)] }), 'application/json')
    ).json()) as { rows: Array<Record<string, unknown>> };
    const firstLine = (await readFile(output, 'utf8')).split('\n')[1]?.split(',') ?? [];
    expect(json.rows[0]?.['reason1(Class)']).toBe(firstLine[features.length + 2]);
    expect(json.rows[0]?.['effect3(Class)']).toBe(Number(firstLine[features.length + 7]));
    const refused = await post(
      `?explain=${features.length + 1}`,
      JSON.stringify({ rows: [row(0)] }),
      'application/json',
    );
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      new RegExp(
        `^explain=${features.length + 1} is not a feature count: give explain=k with k from 1 to ${features.length}`,
      ),
    );
  });

  it('drains the requests in flight on SIGTERM, then exits 0', { timeout: 60_000 }, async () => {
    const running = serve as ServeProcess;
    const big = { rows: Array.from({ length: 5000 }, (_, i) => row(i)) };
    const inFlight = Array.from({ length: 4 }, () =>
      fetch(`${running.url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0ken' },
        body: JSON.stringify(big),
      }).then(async (res) => ({
        status: res.status,
        rows: ((await res.json()) as { rows: unknown[] }).rows.length,
      })),
    );
    await new Promise((r) => setTimeout(r, 30));
    const code = await running.stop();
    serve = undefined;
    expect(await Promise.all(inFlight)).toEqual(Array(4).fill({ status: 200, rows: 5000 }));
    expect(code).toBe(0);
    expect(running.stderr()).toMatch(/SIGTERM: draining .* drained; stopped/s);
  });

  it('answers a deterministic share with the canary alias, once the canary is loaded and checked', {
    timeout: 120_000,
  }, async () => {
    const canary = await startServeProcess({ ...world.env, SLIPWAY_USER: 'ops' }, [
      `${model}@production`,
      '--port',
      '0',
      '--poll',
      '0.1',
      '--canary',
      'staging:50',
      '--monitor',
      '--monitor-rows',
      '150',
    ]);
    try {
      const models = async () =>
        (
          (await (await fetch(`${canary.url}/models`)).json()) as {
            models: Array<{ canary: { version: number | null } }>;
          }
        ).models[0]?.canary.version;
      for (let i = 0; (await models()) !== 2; i++) {
        expect(i, 'the canary never loaded').toBeLessThan(100);
        await new Promise((r) => setTimeout(r, 100));
      }
      const versions: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`${canary.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ rows: [row(i)] }),
        });
        const body = (await res.json()) as { alias: string; version: number };
        versions.push(`${body.alias}:${body.version}`);
      }
      expect(versions).toEqual([
        'production:3',
        'staging:2',
        'production:3',
        'staging:2',
        'production:3',
        'staging:2',
      ]);

      // serve --monitor: production's rows (3 so far) reach 150 with the next request, a batch is
      // recorded while serving; the canary's rows are not production's; the rest goes at shutdown.
      const batch = async (n: number) => {
        const res = await fetch(`${canary.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ rows: Array.from({ length: n }, (_, i) => row(i)) }),
        });
        return `${((await res.json()) as { alias: string }).alias}:${n}`;
      };
      expect([await batch(200), await batch(200), await batch(20)]).toEqual([
        'production:200',
        'staging:200',
        'production:20',
      ]);
      // The batch's objects are listed before the service has logged it (it logs once all are written).
      const logged = /fraud-served v3: monitored batch of 203 rows recorded/;
      const recorded = () => store.list(monitoringPrefix(model, 3));
      for (let i = 0; (await recorded()).length === 0 || !logged.test(canary.stderr()); i++) {
        expect(i, 'no batch recorded while serving').toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      expect(await canary.stop()).toBe(0);
    }
    expect(canary.stderr()).toMatch(/fraud-served v3: monitored batch of 20 rows recorded/);
    const monitored = await slipwayAs('ops', world.env, ['monitor', `${model}@3`, '--json']);
    expect([0, 3]).toContain(monitored.code);
    const { batches } = JSON.parse(monitored.stdout) as {
      batches: Array<{ rows: number; input: string; score: { column: string } }>;
    };
    expect(batches.map((b) => b.rows).sort((a, b) => a - b)).toEqual([20, 203]);
    expect(batches[0]?.input).toMatch(/^slipway serve: \d+ rows answered from /);
    expect(batches[0]?.score.column).toBe('probability(Class)');
    expect(await store.list(monitoringPrefix(model, 2))).toEqual([]);
  });

  it('promotes a version by hand past the shadow gate only: refused without a recorded serve-report, promoted on the recorded figures', {
    timeout: 120_000,
  }, async () => {
    // production is on v3; staging's v2 scored every request in shadow while v3 answered (first test).
    expect(await aliases.resolve(model, 'production')).toBe(3);
    const promote = (...gate: string[]) =>
      slipwayAs('carol', world.env, [
        'promote',
        `${model}@2`,
        '--reason',
        'served well in shadow',
        '--json',
        ...gate,
      ]);
    const unreported = await promote('--min-shadow-agreement', '0.5');
    expect(unreported.code, unreported.stderr).toBe(3);
    expect(JSON.parse(unreported.stdout).gate.checks[0].message).toMatch(
      /^no serve-report compares v2 in shadow of production's v3: serve it with/,
    );

    const recorded = await slipwayAs('ops', world.env, [
      'serve-report',
      join(world.dir, 'shadow.jsonl'),
      '--record',
      '--json',
    ]);
    expect(recorded.code, recorded.stderr).toBe(0);
    const pair = (
      JSON.parse(recorded.stdout) as {
        pairs: Array<{
          primaryVersion: number;
          shadowVersion: number;
          agreement: number;
          meanAbsDiff: number;
        }>;
      }
    ).pairs.find((p) => p.primaryVersion === 3 && p.shadowVersion === 2);
    const { agreement, meanAbsDiff } = pair as { agreement: number; meanAbsDiff: number };

    // Each figure blocking on its own is the unit test's (test/unit/shadowGate.test.ts); here they pass.
    const passed = await promote(
      '--min-shadow-agreement',
      String(agreement),
      '--max-shadow-diff',
      String(Math.min(1, 2 * meanAbsDiff)),
      '--min-shadow-requests',
      '1',
    );
    expect(passed.code, passed.stderr).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({
      outcome: 'promoted',
      promotion: { previous: 3, version: 2 },
    });
    expect(await aliases.resolve(model, 'production')).toBe(2);
  });
});
