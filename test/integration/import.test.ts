import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exitCodes';
import { AuditLog } from '../../domain/audit/auditLog';
import { ModelNotFoundError } from '../../domain/registry/errors';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { type CliResult, slipwayAs } from '../support/cli';
import { BOTNET_FEATURES, botnetProbability, externalBotnetOnnx, netflowCsv } from '../support/externalOnnx';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

describe('slipway import onnx: a model trained elsewhere, through the same gates', () => {
  let world: PipelineWorld;
  let store: ArtifactStore;
  let registry: ModelRegistry;
  const file = (name: string) => join(world.dir, name);

  const slipway = (user: string, ...args: string[]) => slipwayAs(user, world.env, args);

  const features = BOTNET_FEATURES.join(',');
  const importArgs = (path: string, ...more: string[]) => [
    'import',
    'onnx',
    path,
    '--model',
    'secops/botnet',
    '--features',
    features,
    '--target',
    'botnet',
    ...more,
  ];

  /** Started workflow of a CLI run, from its "started <id>" line. */
  function workflowIdOf(result: CliResult): string {
    const id = /started (\S+)/.exec(result.stderr)?.[1];
    if (!id) throw new Error(`no workflow started:\n${result.stderr}`);
    return id;
  }

  async function versions(name: string): Promise<number[]> {
    return registry.listVersions(name).catch((err: unknown) => {
      if (err instanceof ModelNotFoundError) return [];
      throw err;
    });
  }

  beforeAll(async () => {
    world = await startPipelineWorld('import-it');
    store = openArtifactStore(world.config);
    registry = new ModelRegistry(store);
    await writeFile(file('nn_botnet.onnx'), externalBotnetOnnx());
    await writeFile(file('netflow-eval.csv'), netflowCsv(4000, 11).csv);
  });
  afterAll(() => world?.close());

  it('imports a plain ONNX file, waits for a person, and scores a CSV with it once approved', async () => {
    const started = await slipway('carol', ...importArgs(file('nn_botnet.onnx'), '--approvers', 'alice'));
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('waits for review by one of: alice');
    const workflowId = workflowIdOf(started);

    // Registered before the review, marked not evaluated, with where it came from and who brought it.
    const v1 = await registry.getVersion('secops/botnet', 1);
    expect(v1.metrics).toBeUndefined();
    expect(v1.gate?.checks[0]?.message).toMatch(/not evaluated/);
    expect(v1.imported).toMatchObject({
      originUri: `file://${file('nn_botnet.onnx')}`,
      importedBy: 'carol',
      inputName: 'netflow',
      outputName: 'botnet_probability',
      outputs: ['botnet_probability', 'logit'],
      opset: 15,
    });
    expect(v1.imported?.sha256).toBe(v1.artifacts.onnx.sha256);
    expect(Buffer.from(await store.getBytes(v1.artifacts.onnx))).toEqual(
      await readFile(file('nn_botnet.onnx')),
    );
    expect(await registry.getModelCard('secops/botnet', 1)).toContain('Not evaluated');

    // Four eyes apply to imports as to trained models.
    const self = await slipway('carol', 'approve', workflowId, '--as', 'carol', '--reason', 'mine');
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/refused/);
    const approved = await slipway(
      'alice',
      'approve',
      workflowId,
      '--as',
      'alice',
      '--reason',
      'reviewed the weights',
    );
    expect(approved.code).toBe(0);
    const final = await world.client.workflow.getHandle(workflowId).result();
    expect(final.outcome).toBe('promoted');

    // apply on the imported model: its own input and output names, the registered threshold.
    const flows = netflowCsv(500, 12);
    await writeFile(file('flows.csv'), flows.csv);
    const applied = await slipway(
      'dave',
      'apply',
      'secops/botnet@production',
      '--input',
      file('flows.csv'),
      '--output',
      file('scored.csv'),
    );
    expect(applied.code, applied.stderr).toBe(0);
    const scored: Record<string, string>[] = parse(await readFile(file('scored.csv')), { columns: true });
    expect(scored).toHaveLength(500);
    scored.forEach((row, i) => {
      const expected = botnetProbability(flows.features[i] as number[]);
      expect(Number(row['probability(botnet)'])).toBeCloseTo(expected, 5);
      expect(row['predicted(botnet)']).toBe(expected >= 0.5 ? '1' : '0');
    });

    // Lineage reaches the handed-over file by its sha256; the audit log has the registration and approval.
    const lineage = await slipway('dave', 'lineage', 'secops/botnet@1', '--format', 'json');
    expect(lineage.code, lineage.stderr).toBe(0);
    expect(lineage.stdout).toContain(v1.imported?.sha256);
    expect(lineage.stdout).toContain(`file://${file('nn_botnet.onnx')}`);
    const downstream = await slipway('dave', 'lineage', '--downstream', `file://${file('nn_botnet.onnx')}`);
    expect(downstream.code, downstream.stderr).toBe(0);
    expect(downstream.stdout).toContain('secops/botnet@1');
    const audit = await new AuditLog(store).entries({ model: 'secops/botnet' });
    expect(audit.map((e) => e.record?.type)).toEqual(
      expect.arrayContaining(['registration', 'import', 'approval', 'promotion']),
    );
  });

  it('evaluates an import on labelled data and lets the metric gate and the champion decide', async () => {
    // Handed over through object storage this time: both the file and the labelled data.
    await store.putDocument('handover/nn_botnet.onnx', await readFile(file('nn_botnet.onnx')));
    await store.putDocument('handover/netflow-eval.csv', await readFile(file('netflow-eval.csv')));
    const handover = `${world.env.SLIPWAY_ARTIFACTS}/handover`;
    const args = importArgs(`${handover}/nn_botnet.onnx`, '--eval', `${handover}/netflow-eval.csv`);
    const result = await slipway('carol', ...args, '--min-recall', '0.6', '--json');
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.version).toBe(2);
    expect(out.metrics.recall).toBeGreaterThan(0.6);
    expect(out.gate.checks.map((c: { check: string }) => c.check)).toEqual(['minRecall', 'champion.prAuc']);
    // The champion (v1, imported, never evaluated) was scored on the same rows through its own output.
    expect(out.gate.champion).toMatchObject({ version: 1, comparable: true });
    expect(out.outcome).toBe('promoted');
    const v2 = await registry.getVersion('secops/botnet', 2);
    expect(v2.metrics?.recall).toBe(out.metrics.recall);
    expect(v2.imported?.originUri).toBe(`${handover}/nn_botnet.onnx`);
    expect(v2.imported?.evaluationSourceUri).toBe(`${handover}/netflow-eval.csv`);
    expect(v2.artifacts.evaluation).toBeDefined();
    // Issue 29: an import evaluated with --eval gets its permutation importance too.
    expect(v2.artifacts.importance?.kind).toBe('importance');
    expect(v2.importance?.ranking.map((f) => f.feature).sort()).toEqual([...v2.features].sort());
  });

  it('scores a label-first, multi-output file from its first float output, refusing a named label output', async () => {
    await writeFile(file('classifier.onnx'), externalBotnetOnnx({ outputs: 'label-first' }));
    const refused = await slipway(
      'carol',
      ...importArgs(
        file('classifier.onnx'),
        '--model',
        'secops/clf',
        '--no-promote',
        '--output-name',
        'label',
      ),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /UnsupportedModelOutput.*label.*not float32 probabilities.*--output-name/s,
    );
    expect(await versions('secops/clf')).toEqual([]);

    // Without --output-name the int64 label is passed over for the [N, 2] probabilities (as skl2onnx writes them).
    const ok = await slipway(
      'carol',
      ...importArgs(file('classifier.onnx'), '--model', 'secops/clf', '--no-promote'),
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect((await registry.getVersion('secops/clf', 1)).imported?.outputName).toBe('probabilities');
    const applied = await slipway(
      'dave',
      'apply',
      'secops/clf@1',
      '--input',
      file('netflow-eval.csv'),
      '--output',
      file('clf.csv'),
    );
    expect(applied.code, applied.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(await readFile(file('clf.csv')), { columns: true });
    const first = BOTNET_FEATURES.map((f) => Number(rows[0]?.[f]));
    expect(Number(rows[0]?.['probability(botnet)'])).toBeCloseTo(botnetProbability(first), 5);
  });

  it.each([
    {
      name: 'a wrong feature count',
      bytes: () => externalBotnetOnnx({ width: 6 }),
      type: 'FeatureCountMismatch',
      message: /takes 6 features per row, but 7 features were given/,
    },
    {
      name: 'an unparseable file',
      bytes: () => Buffer.from('avgBytes,avgDuration\n1,2\n'),
      type: 'UnparseableOnnx',
      message: /not an ONNX model/,
    },
    {
      name: 'an unsupported opset',
      bytes: () => externalBotnetOnnx({ opset: 30 }),
      type: 'UnsupportedOpset',
      message: /opset 30, which onnxruntime \S+ does not support \(ONNX Runtime only \*guarantees\* support/,
    },
    {
      name: 'a file over the upload limit after base64',
      // 3,000,000 floats: 12 MB, 16 MB after base64, over the default 15 MiB.
      bytes: () => externalBotnetOnnx({ paddingFloats: 3_000_000 }),
      type: 'ModelTooLarge',
      message: /after base64, over the upload limit of 15728640 bytes/,
    },
  ])('refuses $name with a message that names it, at once, and registers nothing', async (bad) => {
    const path = file(`bad-${bad.type}.onnx`);
    await writeFile(path, bad.bytes());
    const onnxBefore = (await store.list('onnx/')).length;
    const auditBefore = (await new AuditLog(store).entries()).length;
    const result = await slipway(
      'carol',
      ...importArgs(path, '--model', 'secops/rejected', '--approvers', 'alice'),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error (${bad.type})`);
    expect(result.stderr).toMatch(bad.message);
    // One attempt, no retry loop: the failure is non-retryable.
    const history = await world.client.workflow.getHandle(workflowIdOf(result)).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes?.attempt);
    expect(attempts).toEqual([1]);
    // Nothing left behind: no version, no stored file, no audit entry.
    expect(await versions('secops/rejected')).toEqual([]);
    expect((await store.list('onnx/')).length).toBe(onnxBefore);
    expect((await new AuditLog(store).entries()).length).toBe(auditBefore);
  });

  it('refuses, before starting anything, an import that nobody would judge', async () => {
    const result = await slipway(
      'carol',
      ...importArgs(file('nn_botnet.onnx'), '--model', 'secops/unjudged'),
    );
    expect(result.code).toBe(EXIT.badInput);
    expect(result.stderr).toMatch(
      /without evaluation data \(--eval\) is promoted only after a person approves it/,
    );
    expect(result.stderr).not.toContain('started');
  });
});
