import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../domain/audit/auditLog';
import { openArtifactStore } from '../../domain/storage/openStore';
import { slipwayAs } from '../support/cli';
import { BOTNET_FEATURES, externalBotnetOnnx, netflowCsv } from '../support/externalOnnx';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/**
 * Namespaces and sharing through the CLI, as five people: erin administers secops, carol imports
 * there, dave is a member, alice approves, and mallory belongs to another team.
 */
describe('namespaces and visibility', () => {
  let world: PipelineWorld;
  const as = (user: string, ...args: string[]) => slipwayAs(user, world.env, args);
  const file = (name: string) => join(world.dir, name);
  const apply = (user: string) =>
    as(
      user,
      'apply',
      'secops/botnet@1',
      '--input',
      file('flows.csv'),
      '--output',
      file(`scored-${user}.csv`),
    );

  beforeAll(async () => {
    world = await startPipelineWorld('namespaces-it');
    await writeFile(file('nn_botnet.onnx'), externalBotnetOnnx());
    await writeFile(file('flows.csv'), netflowCsv(200, 5).csv);
  });
  afterAll(() => world?.close());

  it('keeps a namespace-visible model inside its namespace until an admin shares it, all audited', async () => {
    const policy = await as(
      'erin',
      ...['namespace', 'set', 'secops', '--admins', 'erin', '--members', 'carol,dave'],
      ...['--importers', 'carol', '--approvers', 'alice'],
    );
    expect(policy.code, policy.stderr).toBe(0);
    const takeover = await as('mallory', 'namespace', 'set', 'secops', '--admins', 'mallory');
    expect(takeover.code).toBe(1);
    expect(takeover.stderr).toMatch(
      /mallory may not change the policy of namespace secops: only its admins may \(erin\)/,
    );

    const importArgs = (...more: string[]) => [
      ...['import', 'onnx', file('nn_botnet.onnx'), '--model', 'secops/botnet'],
      ...['--features', BOTNET_FEATURES.join(','), '--target', 'botnet', '--no-promote', ...more],
    ];
    const intruder = await as('mallory', ...importArgs());
    expect(intruder.code).toBe(1);
    expect(intruder.stderr).toMatch(
      /mallory may not import models into namespace secops: its importers are carol/,
    );
    const strangerApprover = await as('carol', ...importArgs('--approvers', 'bob'));
    expect(strangerApprover.code).toBe(1);
    expect(strangerApprover.stderr).toMatch(
      /bob may not approve models in namespace secops: its approvers are alice/,
    );
    const imported = await as('carol', ...importArgs());
    expect(imported.code, imported.stderr).toBe(0);

    // Inside the namespace: usable and listed.
    expect((await apply('dave')).code).toBe(0);
    expect((await as('dave', 'models', '--json')).stdout).toContain('secops/botnet');

    // Outside it: refused everywhere, with the reason and what to do; not even listed.
    const refused = await apply('mallory');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /mallory may not use secops\/botnet: secops\/botnet is shared within namespace secops only, and mallory is not in it \(admins: erin; members: carol, dave\)\. Ask an admin of secops/,
    );
    for (const args of [
      ['lineage', 'secops/botnet@1'],
      ['export', 'mltk', 'secops/botnet@1', '--out', file('mltk')],
      ['models', 'secops/botnet'],
    ]) {
      const result = await as('mallory', ...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('mallory may not use secops/botnet');
    }
    expect(JSON.parse((await as('mallory', 'models', '--json')).stdout).models).toEqual([]);
    const auditFor = async (user: string) =>
      JSON.parse((await as(user, 'audit', 'log', '--json')).stdout).entries.map(
        (e: { record?: { model?: string } }) => e.record?.model,
      );
    expect(await auditFor('dave')).toContain('secops/botnet');
    expect(await auditFor('mallory')).not.toContain('secops/botnet');
    expect((await as('mallory', 'audit', 'log', '--model', 'secops/botnet')).stderr).toContain(
      'mallory may not use secops/botnet',
    );
    const downstream = (user: string) =>
      as(user, 'lineage', '--downstream', `file://${file('nn_botnet.onnx')}`, '--format', 'json');
    expect((await downstream('dave')).stdout).toContain('model:secops/botnet@1');
    expect((await downstream('mallory')).stdout).not.toContain('secops/botnet');

    const memberRollback = await as('dave', 'rollback', 'secops/botnet', '--reason', 'try', '--as', 'erin');
    expect(memberRollback.code).toBe(1);
    expect(memberRollback.stderr).toMatch(
      /dave may not move the aliases of secops\/botnet by hand: only the admins of secops may \(erin\)/,
    );

    // Only an admin changes visibility; global makes it usable everywhere.
    const memberShares = await as('carol', 'share', 'secops/botnet', '--visibility', 'global');
    expect(memberShares.code).toBe(1);
    expect(memberShares.stderr).toMatch(
      /carol may not change who sees secops\/botnet: only the admins of secops may \(erin\)/,
    );
    expect((await as('erin', 'share', 'secops/botnet', '--visibility', 'global')).code).toBe(0);
    expect((await apply('mallory')).code).toBe(0);

    // Private: its owner (the importer) and the admins only.
    expect((await as('erin', 'share', 'secops/botnet', '--visibility', 'private')).code).toBe(0);
    const member = await apply('dave');
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(
      /secops\/botnet is private to its owner carol \(and the admins of secops: erin\)/,
    );
    expect((await apply('carol')).code).toBe(0);

    const audit = await new AuditLog(openArtifactStore(world.config)).entries();
    const changes = audit
      .map((e) => e.record)
      .filter((r) => r?.type === 'visibility-change' || r?.type === 'namespace-change');
    expect(changes.map((r) => [r?.type, r?.actor, r?.details.to ?? r?.details.namespace])).toEqual([
      ['namespace-change', 'erin', 'secops'],
      ['visibility-change', 'erin', 'global'],
      ['visibility-change', 'erin', 'private'],
    ]);
    expect((await as('erin', 'audit', 'verify')).code).toBe(0);
  });
});
