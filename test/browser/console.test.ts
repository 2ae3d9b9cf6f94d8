import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelVersion } from '../../application/models';
import { recordMonitoredBatch } from '../../application/monitor';
import { decideReview } from '../../application/reviews';
import { openWorkspace } from '../../application/workspace';
import { REPO_ROOT } from '../../config/env';
import { type RunningConsole, startConsole } from '../../console/server';
import type { TrainToDeployInput } from '../../contracts/inputs';
import { progressQuery } from '../../contracts/messages';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { reviewKey, signatureKey } from '../../domain/registry/layout';
import { keySigner } from '../../domain/review/decisionSignature';
import { scoreCsv } from '../../domain/scoring/scoreCsv';
import { keyFingerprint, publicKeyText } from '../../domain/signing/keys';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/** Debian's chromium (infra/scripts/test.sh installs it where it can), driven by playwright-core. */
const CHROMIUM = process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output', 'console');
const TEMPORAL_UI = 'http://127.0.0.1:8233';

/**
 * Issue 11's console in a real headless Chromium, over a Slipway of its own on the real Temporal
 * and MinIO: a real pipeline run waits for review; the console (acting as alice, from
 * SLIPWAY_USER) shows it, the workflow's validator refuses an empty reason and, on a run alice
 * started herself, four eyes; alice's approval promotes the version, the alias moves and the audit
 * log records it; the version page shows the report with every chart drawn and the lineage graph.
 */
describe('slipway console in a browser', () => {
  let world: PipelineWorld;
  let console_: RunningConsole;
  let browser: Browser;
  let page: Page;
  // A namespaced name: the "/" must survive every link (percent-encoded into one path segment).
  const model = 'console-team/fraud';
  const encoded = encodeURIComponent(model);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `No chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; npm test does it as root) ` +
          'or point SLIPWAY_CHROMIUM at one.',
      );
    world = await startPipelineWorld('console-br', { env: { SLIPWAY_USER: 'alice' } });
    console_ = await startConsole({
      config: world.config,
      client: world.client,
      host: '127.0.0.1',
      port: 0,
      temporalUi: TEMPORAL_UI,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await mkdir(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await console_?.close();
    await world?.close();
  });

  function start(createdBy: string, seed = referenceModelSpec.seed): Promise<WorkflowHandle> {
    const input: TrainToDeployInput = {
      // Small and quick, like promotionGates: the console is under test here, not the model.
      source: 'synthetic:fraud?rows=8000&seed=11',
      modelName: model,
      spec: { ...referenceModelSpec, epochs: 3, seed },
      createdBy,
      trainingTaskQueue: world.config.trainingTaskQueue,
      gate: { review: { required: true, approvers: ['alice', 'bob'], timeoutSeconds: 900 } },
    };
    return world.client.workflow.start('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `console-${randomUUID()}`,
      args: [input],
    });
  }

  async function waitForReview(handle: WorkflowHandle) {
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.review) return progress.review;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Clicks a button of the run's row on the pending page and returns what the page then says. */
  async function decide(workflowId: string, action: 'Approve' | 'Reject', reason: string, on: Page = page) {
    const row = on.locator(`tr[data-workflow-id="${workflowId}"]`);
    await row.getByRole('textbox').fill(reason);
    await row.getByRole('button', { name: action }).click();
    const outcome = row.locator('[data-outcome]:is([data-result="ok"],[data-result="error"])');
    await outcome.waitFor();
    return { result: await outcome.getAttribute('data-result'), text: (await outcome.textContent()) ?? '' };
  }

  /**
   * What `slipway apply <model>@1 --input <batch> --output <scored> --monitor` does, in this process:
   * score a batch of synthetic rows (one column shifted, if asked) and record it for monitoring.
   */
  async function monitorBatch(name: string, seed: number, shift?: { column: string; by: number }) {
    const at = shift ? SYNTHETIC_FRAUD_COLUMNS.indexOf(shift.column) : -1;
    const lines = [SYNTHETIC_FRAUD_COLUMNS.join(',')];
    for (const row of syntheticFraudRows({ rows: 2000, seed })) {
      lines.push(row.map((v, j) => (j === at ? v + (shift?.by ?? 0) : v)).join(','));
    }
    const input = join(world.dir, `${name}.csv`);
    const scored = join(world.dir, `${name}-scored.csv`);
    await writeFile(input, `${lines.join('\n')}\n`);
    const ws = openWorkspace(world.config);
    const version = await loadModelVersion(ws, `${model}@1`);
    const result = await scoreCsv({
      inputPath: input,
      outputPath: scored,
      onnx: version.onnx,
      features: version.metadata.features,
      target: version.metadata.target,
      threshold: version.metadata.threshold,
    });
    return recordMonitoredBatch(ws, {
      model,
      version: 1,
      scoredPath: scored,
      input,
      scoreColumn: result.columns.probability,
      threshold: version.metadata.threshold,
      recordedAt: new Date().toISOString(),
    });
  }

  it('approves a pending run, shows the alias move, the audit entry, the report and the lineage, and refusals', {
    timeout: 240_000,
  }, async () => {
    const t0 = Date.now();
    const first = await start('carol');
    expect(await waitForReview(first)).toMatchObject({ model, version: 1, requestedBy: 'carol' });
    const trainedIn = Date.now() - t0;

    // The pending page lists the run, with a link to it in the Temporal Web UI.
    await page.goto(`${console_.url}/pending`);
    expect(await page.locator('[data-identity]').textContent()).toBe('alice');
    const row = page.locator(`tr[data-workflow-id="${first.workflowId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(
      await row
        .locator(`a[href^="${TEMPORAL_UI}/namespaces/default/workflows/${first.workflowId}/"]`)
        .count(),
    ).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'pending.png'), fullPage: true });

    // An empty reason: the workflow's validator refuses, and the page shows its words.
    const empty = await decide(first.workflowId, 'Approve', '   ');
    expect(empty.result).toBe('error');
    expect(empty.text).toMatch(/^Refused: Give a reason/);

    const stale = await browser.newPage();
    await stale.goto(`${console_.url}/pending`);

    // alice approves: the same Update as `slipway approve`, as SLIPWAY_USER. The reason carries
    // markup: every page must show it as text, never as elements.
    const reason = 'curves look right <em>& recall</em>';
    const approved = await decide(first.workflowId, 'Approve', reason);
    expect(approved).toEqual({ result: 'ok', text: expect.stringContaining(`approved by alice: ${reason}`) });
    const result = (await first.result()) as PipelineResult;
    expect(result.outcome).toBe('promoted');
    expect(result.review).toMatchObject({ approver: 'alice', reason });
    // A page opened before the decision still offers the buttons: its decision is refused.
    const again = await decide(first.workflowId, 'Reject', 'changed my mind', stale);
    expect(again.result).toBe('error');
    expect(again.text).toMatch(/^Refused: .*already approved by alice/);
    await stale.close();

    // The alias moved: on the models list, the model page (version row and alias log).
    await page.goto(console_.url);
    expect(await page.locator(`tr[data-model="${model}"]`).textContent()).toContain('production → v1');
    await page.locator(`tr[data-model="${model}"] a`).first().click();
    expect(new URL(page.url()).pathname).toBe(`/models/${encoded}`);
    expect(await page.locator('tr[data-version="1"] [data-alias="production"]').count()).toBe(1);
    expect(await page.locator('[data-table="alias-log"] tbody tr').first().textContent()).toMatch(
      /production\s*promote: none → v1/,
    );
    await page.screenshot({ path: join(SHOTS, 'model.png'), fullPage: true });

    // The audit log has alice's approval, with her reason, and the promotion after it.
    await page.goto(`${console_.url}/audit`);
    const approval = page.locator('tr[data-type="approval"]', { hasText: `${model}@1` });
    expect(await approval.count()).toBe(1);
    expect(await approval.locator('td').nth(4).textContent()).toBe('alice');
    expect(await approval.locator('td').nth(5).textContent()).toBe(reason);
    expect(await page.locator('main em').count()).toBe(0);
    const approvalSeq = Number(await approval.getAttribute('data-seq'));
    const promotion = page.locator('tr[data-type="promotion"]', { hasText: `${model}@1` });
    expect(Number(await promotion.getAttribute('data-seq'))).toBeGreaterThan(approvalSeq);
    await page.screenshot({ path: join(SHOTS, 'audit.png'), fullPage: true });

    // The version page: the stored report, framed, with every chart drawn; the lineage graph.
    await page.goto(`${console_.url}/models/${encoded}/versions/1`);
    expect(await page.locator('h1').textContent()).toContain(`${model} v1`);
    expect(await page.locator('[data-review="approved"]').textContent()).toContain(`alice at`);
    expect(await page.locator('[data-review="approved"]').textContent()).toContain(reason);
    expect(await page.locator('[data-card]').textContent()).toContain(model);
    // Issue 27: alice's decision through the console is unsigned, as a namespace with no policy
    // allows; the version's own signature (installation key) verifies against the stored files.
    expect(
      await page.locator('[data-review="approved"] [data-signature]').getAttribute('data-signature'),
    ).toBe('unsigned-allowed');
    expect(await page.locator('[data-signature-detail]').textContent()).toBe(
      'The decision is unsigned, as allowed: namespace console-team has no policy, so no approver keys are registered.',
    );
    expect(await page.locator('[data-model-signature]').getAttribute('data-model-signature')).toBe(
      'verified',
    );
    expect(await page.locator('[data-model-signature-detail]').textContent()).toMatch(
      /^signed by SHA256:\S+ \(this installation's key\), verified against the stored files\. Files: .*\.onnx, .*MODEL_CARD\.md\.$/,
    );
    // Issue 23: the training data checked against no champion yet, no monitored batch yet.
    expect(await page.locator('[data-validation="pass"]').textContent()).toContain('nothing to compare with');
    expect(await page.locator('[data-monitoring="none"]').textContent()).toBe(
      'No batch scored with apply --monitor yet.',
    );
    const report = page.frameLocator('iframe[data-report]');
    await report.locator('svg[data-chart="balance"]').waitFor();
    // The training-data section: a histogram strip per feature, each with drawn bars.
    const histograms = await report.locator('svg[data-chart^="hist-"]').evaluateAll((svgs) =>
      svgs.map((svg) => ({
        width: svg.getBoundingClientRect().width,
        bars: [...svg.querySelectorAll('rect')].filter((r) => r.getBoundingClientRect().height > 0).length,
      })),
    );
    expect(histograms).toHaveLength(30);
    for (const h of histograms) {
      expect(h.width).toBeGreaterThan(50);
      expect(h.bars).toBeGreaterThan(0);
    }
    const charts = await report.locator('svg[data-chart]:not([data-chart^="hist-"])').evaluateAll((svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const lines = [...svg.querySelectorAll('path[data-series]')].map((p) =>
          (p as unknown as { getTotalLength(): number }).getTotalLength(),
        );
        const bars = [...svg.querySelectorAll('rect')].filter((r) => r.getBoundingClientRect().width > 0);
        return {
          chart: svg.getAttribute('data-chart'),
          width: box.width,
          height: box.height,
          lines,
          bars: bars.length,
        };
      }),
    );
    expect(charts.map((c) => c.chart).sort()).toEqual([
      'balance',
      'confusion',
      'importance',
      'pr',
      'roc',
      'training',
    ]);
    for (const c of charts) {
      expect(c.width, `${c.chart} is laid out`).toBeGreaterThan(200);
      expect(c.height, `${c.chart} is laid out`).toBeGreaterThan(100);
    }
    // Every curve is a drawn line of some length, not an empty path; the matrix and bars have cells.
    for (const c of charts.filter((c) => ['pr', 'roc', 'training'].includes(c.chart ?? ''))) {
      expect(c.lines.length, `${c.chart} has curves`).toBeGreaterThan(0);
      for (const length of c.lines) expect(length, `a curve of ${c.chart}`).toBeGreaterThan(10);
    }
    expect(charts.find((c) => c.chart === 'confusion')?.bars).toBe(4);
    expect(charts.find((c) => c.chart === 'balance')?.bars).toBeGreaterThanOrEqual(3);
    // Issue 29: the permutation importance, a bar per feature shown.
    expect(charts.find((c) => c.chart === 'importance')?.bars).toBeGreaterThanOrEqual(10);
    const graph = page.locator('[data-lineage] svg');
    const kinds = await graph
      .locator('g.node')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node-type')));
    expect(kinds.filter((k) => k === 'model')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'execution').length).toBeGreaterThanOrEqual(5);
    expect(await graph.locator('g.model').textContent()).toContain(`${model}@1`);
    expect(await graph.locator('g.edge').count()).toBeGreaterThanOrEqual(kinds.length - 1);
    expect(
      await page
        .locator(`a[href^="${TEMPORAL_UI}/namespaces/default/workflows/${first.workflowId}/"]`)
        .count(),
    ).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'version.png'), fullPage: true });
    await graph.screenshot({ path: join(SHOTS, 'lineage.png') });
    await page.goto(`${console_.url}/models/${encoded}/versions/1/report`);
    expect(await page.locator('svg[data-chart]:not([data-chart^="hist-"])').count()).toBe(6);
    await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true });

    // Issue 23: two batches scored with apply --monitor, the second with V5 moved by one standard
    // deviation of the training data; the version page lists both, the second's page shows V5
    // drifted and the drift report draws both histograms of every feature.
    const summary = JSON.parse(
      (await openWorkspace(world.config).store.getBytes(result.dataset.summary)).toString('utf8'),
    );
    const v5Std = summary.columns.find((c: { name: string }) => c.name === 'V5').std as number;
    const calm = await monitorBatch('batch-calm', 12);
    const shifted = await monitorBatch('batch-shifted', 13, { column: 'V5', by: v5Std });
    expect(calm.batch.drifted).toEqual([]);
    expect(shifted.batch.drifted).toEqual(['V5']);
    await page.goto(`${console_.url}/models/${encoded}/versions/1`);
    const batchRows = page.locator('[data-table="monitoring"] tr[data-batch]');
    expect(await batchRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-drifted')))).toEqual([
      '0',
      '1',
    ]);
    await batchRows.nth(1).locator('a').click();
    expect(new URL(page.url()).pathname).toMatch(
      new RegExp(`^/models/${encoded}/versions/1/monitoring/\\d{8}T\\d{6}Z-[0-9a-f]{12}$`),
    );
    expect(await page.locator('[data-batch-verdict]').textContent()).toBe('✗ 1 feature drifted: V5.');
    const firstFeature = page.locator('[data-table="batch-features"] tr[data-feature]').first();
    expect(await firstFeature.getAttribute('data-feature')).toBe('V5');
    expect(await firstFeature.getAttribute('data-level')).toBe('drifted');
    const drift = page.frameLocator('iframe[data-drift-report]');
    await drift.locator('svg[data-chart="drift-V5"]').waitFor();
    expect(await drift.locator('p.verdict').textContent()).toBe('1 feature drifted: V5.');
    // Every feature's two histograms are laid out and drawn; V5's figure is marked drifted.
    const overlays = await drift.locator('svg[data-chart^="drift-"]').evaluateAll((svgs) =>
      svgs.map((svg) => ({
        feature: svg.getAttribute('data-chart')?.slice('drift-'.length),
        drifted: svg.closest('figure')?.classList.contains('drifted'),
        width: svg.getBoundingClientRect().width,
        reference: [...svg.querySelectorAll('rect.ref')].filter((r) => r.getBoundingClientRect().height > 0)
          .length,
        current: [...svg.querySelectorAll('rect.cur')].filter((r) => r.getBoundingClientRect().height > 0)
          .length,
      })),
    );
    expect(overlays).toHaveLength(30);
    expect(overlays.filter((o) => o.drifted).map((o) => o.feature)).toEqual(['V5']);
    for (const o of overlays) {
      expect(o.width, `${o.feature} is laid out`).toBeGreaterThan(200);
      expect(o.reference, `${o.feature}: training histogram drawn`).toBeGreaterThan(0);
      expect(o.current, `${o.feature}: batch histogram drawn`).toBeGreaterThan(0);
    }
    expect(await drift.locator('body').textContent()).not.toMatch(/NaN/);
    await page.screenshot({ path: join(SHOTS, 'monitored-batch.png'), fullPage: true });
    // The report on its own is sandboxed like the evaluation report; an unknown batch says so.
    const batchPath = new URL(page.url()).pathname;
    const alone = await fetch(`${console_.url}${batchPath}/report`);
    expect(alone.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    expect(await alone.text()).toContain('data-chart="drift-V5"');
    // (A full-page screenshot leaves a sandboxed frame blank, so the report is also shot on its own.)
    await page.goto(`${console_.url}${batchPath}/report`);
    expect(await page.locator('svg[data-chart^="drift-"]').count()).toBe(30);
    await page.screenshot({ path: join(SHOTS, 'drift-report.png'), fullPage: true });
    const unknownBatch = await fetch(
      `${console_.url}/models/${encoded}/versions/1/monitoring/..%2F..%2Fregistry`,
    );
    expect(unknownBatch.status).toBe(404);
    expect(await unknownBatch.text()).toContain(`${model} v1 has no monitored batch ../../registry`);

    // A run alice started herself: her approval is refused (four eyes), and the page says why.
    // Trained from another seed: its version (v2, registered before review) is compared with v1 below.
    const own = await start('alice', 7);
    await waitForReview(own);

    // Issue 29: the compare page of v1 and v2, reached from the model page, with both versions'
    // ROC and PR curves overlaid (scored on v2's held-out rows), and the runs list.
    await page.goto(`${console_.url}/models/${encoded}`);
    await page.locator('a[data-compare]').click();
    expect(new URL(page.url()).pathname).toBe('/compare');
    expect(await page.locator('h1').textContent()).toBe(`Compare ${model}@1 · ${model}@2`);
    expect(await page.locator('[data-setting="training.modelSpec.seed"]').textContent()).toMatch(/42\s*7/);
    expect(await page.locator('table[data-table="compare-same-rows"] tbody tr').count()).toBe(2);
    for (const chart of ['compare-roc', 'compare-pr']) {
      const curves = await page.locator(`svg[data-chart="${chart}"] path[data-series]`).evaluateAll((paths) =>
        paths.map((p) => ({
          series: p.getAttribute('data-series'),
          length: (p as unknown as { getTotalLength(): number }).getTotalLength(),
        })),
      );
      const names = curves.map((c) => c.series).filter((n) => n !== 'chance');
      expect(names, chart).toEqual([`${model}@1`, `${model}@2`]);
      for (const c of curves) expect(c.length, `${chart}: ${c.series}`).toBeGreaterThan(10);
    }
    expect(
      await page.locator('svg[data-chart="compare-importance"] rect[data-feature]').count(),
    ).toBeGreaterThan(10);
    expect(await page.locator('[data-confusion] svg[data-chart="confusion"]').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'compare.png'), fullPage: true });
    await page.goto(`${console_.url}/runs?model=${encoded}`);
    const runRows = page.locator('table[data-table="runs"] tbody tr');
    expect(await runRows.count()).toBe(2);
    expect(
      await page.locator(`tr[data-workflow-id="${first.workflowId}"]`).getAttribute('data-outcome'),
    ).toBe('promoted');
    await page.screenshot({ path: join(SHOTS, 'runs.png'), fullPage: true });
    await page.goto(`${console_.url}/pending`);
    await expect.poll(() => page.locator(`tr[data-workflow-id="${own.workflowId}"]`).count()).toBe(1);
    const refused = await decide(own.workflowId, 'Approve', 'looks fine to me');
    expect(refused.result).toBe('error');
    expect(refused.text).toBe(
      'Refused: alice started this run, so alice cannot review it: a second person on the allow-list must (four eyes).',
    );
    await page.screenshot({ path: join(SHOTS, 'refused.png'), fullPage: true });

    // Someone off the allow-list (a console run as mallory) is refused with the allow-list.
    const mallory = await startConsole({
      config: { ...world.config, identity: 'mallory' },
      client: world.client,
      host: '127.0.0.1',
      port: 0,
    });
    try {
      await page.goto(`${mallory.url}/pending`);
      expect(await page.locator('[data-identity]').textContent()).toBe('mallory');
      const stranger = await decide(own.workflowId, 'Approve', 'let me');
      expect(stranger.text).toBe(
        'Refused: mallory may not review console-team/fraud: the allow-list is alice, bob. ' +
          'Ask one of them, or change the approvers in the gate settings.',
      );
      await page.screenshot({ path: join(SHOTS, 'refused-stranger.png'), fullPage: true });
    } finally {
      await mallory.close();
    }

    // A decision sent from another site is refused before it reaches Temporal.
    const forged = await fetch(`${console_.url}/api/runs/${encodeURIComponent(own.workflowId)}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ reason: 'sure' }),
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: string }).error).toMatch(/Cross-site request refused/);
    expect((await own.query(progressQuery)).review).toBeDefined(); // still waiting: nothing was decided

    // Issue 27: the namespace now registers bob's key (decisions must be signed) and a webhook whose
    // secret variable no worker has. The pending page says the console cannot sign; bob decides with
    // his key, as `slipway approve --key` does (the private key stays in this process).
    const bob = generateKeyPairSync('ed25519');
    const bobFingerprint = keyFingerprint(bob.publicKey);
    const ws = openWorkspace(world.config);
    await ws.access.setPolicy(
      'console-team',
      {
        set: {
          admins: ['erin'],
          members: ['alice', 'bob', 'carol'],
          approverKeys: { bob: [publicKeyText(bob.publicKey)] },
          webhooks: [
            {
              url: 'http://127.0.0.1:9/hooks/slipway?token=console-url-token',
              secretEnv: 'CONSOLE_HOOK_SECRET',
              format: 'json',
            },
          ],
        },
      },
      'erin',
      new Date().toISOString(),
    );
    await page.goto(`${console_.url}/pending`);
    expect(
      await page.locator(`tr[data-workflow-id="${own.workflowId}"] [data-must-sign]`).textContent(),
    ).toContain(`slipway approve ${own.workflowId} --key`);
    const signed = await decideReview(
      world.client,
      own.workflowId,
      'approve',
      { approver: 'bob', reason: 'signed with my key' },
      { ws, signer: keySigner(bob.privateKey) },
    );
    expect(signed.signature?.keyFingerprint).toBe(bobFingerprint);
    expect(((await own.result()) as PipelineResult).outcome).toBe('promoted');

    // The version page and the model page show the signature, verified, with bob's fingerprint; so does the audit log.
    await page.goto(`${console_.url}/models/${encoded}/versions/2`);
    const badge = page.locator('[data-review="approved"] [data-signature]');
    expect(await badge.getAttribute('data-signature')).toBe('signed-verified');
    expect(await badge.textContent()).toBe(`✓ signed ${bobFingerprint}`);
    expect(await page.locator('[data-signature-detail]').textContent()).toContain(
      "verified; namespace console-team's policy registers that key for bob",
    );
    await page.screenshot({ path: join(SHOTS, 'version-signed.png'), fullPage: true });
    await page.goto(`${console_.url}/models/${encoded}`);
    expect(await page.locator('tr[data-version="2"] [data-signature]').getAttribute('data-signature')).toBe(
      'signed-verified',
    );
    expect(await page.locator('tr[data-version="1"] [data-signature]').getAttribute('data-signature')).toBe(
      'unsigned-required',
    );
    await page.goto(`${console_.url}/audit?model=${encoded}`);
    expect(
      await page
        .locator('tr[data-type="approval"]', { hasText: `${model}@2` })
        .locator('[data-signed]')
        .getAttribute('data-signed'),
    ).toBe(bobFingerprint);

    // One changed byte of the stored review (its reason), and v1's signature bundle over v2's: the
    // page re-verifies both, so it says they do not hold up.
    const reviewDoc = reviewKey(model, 2);
    const stored = (await ws.store.getDocument(reviewDoc)) as Buffer;
    await ws.store.putDocument(
      reviewDoc,
      stored.toString('utf8').replace('signed with my key', 'signed with my kez'),
    );
    await ws.store.putDocument(
      signatureKey(model, 2),
      (await ws.store.getDocument(signatureKey(model, 1))) as Buffer,
    );
    await page.goto(`${console_.url}/models/${encoded}/versions/2`);
    expect(await badge.getAttribute('data-signature')).toBe('signed-invalid');
    expect(await page.locator('[data-signature-detail]').textContent()).toContain(
      'signs reason "signed with my key", but the record says "signed with my kez"',
    );
    expect(await page.locator('[data-model-signature]').getAttribute('data-model-signature')).toBe(
      'mismatch',
    );
    await page.screenshot({ path: join(SHOTS, 'version-tampered.png'), fullPage: true });

    // The namespace page: bob's key, the webhook (no query, the secret's variable, never a secret)
    // and the dead letters of the events of bob's decision, whose secret no worker holds.
    await page.goto(console_.url);
    await page.locator('header nav a', { hasText: 'Namespaces' }).click();
    const nsRow = page.locator('tr[data-namespace="console-team"]');
    expect(await nsRow.textContent()).toContain('signed only');
    await nsRow.locator('a').click();
    expect(new URL(page.url()).pathname).toBe('/namespaces/console-team');
    expect(await page.locator('[data-decisions]').getAttribute('data-decisions')).toBe('signed');
    expect(await page.locator('tr[data-approver="bob"] [data-fingerprint]').textContent()).toBe(
      bobFingerprint,
    );
    const hook = page.locator('[data-table="webhooks"] tbody tr');
    expect(await hook.getAttribute('data-webhook')).toBe('http://127.0.0.1:9/hooks/slipway?…');
    expect(await hook.locator('[data-secret-env]').textContent()).toBe('$CONSOLE_HOOK_SECRET');
    await expect
      .poll(
        async () => {
          await page.reload();
          return page
            .locator('[data-table="dead-letters"] tbody tr')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-type')).sort());
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(expect.arrayContaining(['review.decided', 'version.promoted']));
    const letter = page.locator('[data-table="dead-letters"] tr[data-event-type="review.decided"]');
    expect(await letter.textContent()).toContain(
      'the variable CONSOLE_HOOK_SECRET is empty or missing on this worker',
    );
    expect(await letter.textContent()).toContain(`${model}@2`);
    expect(await page.locator('main').textContent()).not.toContain('console-url-token');
    await page.screenshot({ path: join(SHOTS, 'namespace.png'), fullPage: true });
    console.log(
      `console: first run reached review in ${(trainedIn / 1000).toFixed(1)} s; whole browser test ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  it('refuses requests from elsewhere and explains missing pages', async () => {
    const url = new URL(console_.url);
    // A page elsewhere that rebinds its DNS name to 127.0.0.1 sends its own name as Host.
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/pending',
          headers: { host: `evil.example:${url.port}` },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toContain('the request was addressed to \\"evil.example');

    const post = (headers: Record<string, string>, body = JSON.stringify({ reason: 'ok' })) =>
      fetch(`${console_.url}/api/runs/no-such-run/approve`, { method: 'POST', headers, body });
    const noOrigin = await post({ 'content-type': 'application/json' });
    expect(noOrigin.status).toBe(403);
    expect(await noOrigin.text()).toContain('a client that sent no Origin');
    const form = await post(
      { 'content-type': 'application/x-www-form-urlencoded', origin: console_.url },
      'reason=ok',
    );
    expect(form.status).toBe(415);
    const unknown = await post({ 'content-type': 'application/json', origin: console_.url });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(
      /^No workflow no-such-run: check the ID/,
    );

    // A missing model says so, naming what does exist; a namespaced name arrives whole.
    const missing = await page.goto(`${console_.url}/models/${encodeURIComponent('other-team/nothing')}`);
    expect(missing?.status()).toBe(404);
    expect(await page.locator('[data-error]').textContent()).toContain('other-team/nothing');
    await page.screenshot({ path: join(SHOTS, 'not-found.png') });
  });
});
