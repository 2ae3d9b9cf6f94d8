import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exitCodes';
import { AuditLog } from '../../domain/audit/auditLog';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { makeDraft, storeArtifacts } from '../unit/registryFixtures';

/**
 * `slipway rollback` through its workflow: the alias goes back to the version the current one
 * replaced, the alias log and the audit log each get one entry (written by the worker's
 * activity), and a rollback with nowhere to go is refused as bad input with the reason.
 */
describe('rollback through a workflow', () => {
  let world: PipelineWorld;
  let store: ArtifactStore;
  let aliases: ModelAliases;
  const rollbacks = async () =>
    (await new AuditLog(store).entries({ model: 'fraud' })).filter((e) => e.record?.type === 'rollback');

  beforeAll(async () => {
    world = await startPipelineWorld('rollback-it');
    store = openArtifactStore(world.config);
    const registry = new ModelRegistry(store);
    aliases = new ModelAliases(registry);
    const artifacts = await storeArtifacts(store);
    for (const version of [1, 2]) {
      await registry.registerVersion('fraud', {
        idempotencyKey: `seed-${version}`,
        build: makeDraft(artifacts),
      });
      await aliases.move('fraud', 'production', {
        version,
        action: 'promote',
        actor: 'carol',
        reason: 'passed the metric gate',
        at: new Date().toISOString(),
      });
    }
  });
  afterAll(() => world?.close());

  it('moves production back to the version it replaced, audited once, and refuses to go further', async () => {
    const back = await slipwayAs('alice', world.env, [
      'rollback',
      'fraud',
      '--reason',
      'alerts doubled',
      '--json',
    ]);
    expect(back.code, back.stderr).toBe(0);
    const entry = JSON.parse(back.stdout);
    expect(entry).toMatchObject({
      alias: 'production',
      version: 1,
      previous: 2,
      action: 'rollback',
      actor: 'alice',
      reason: 'alerts doubled',
    });
    expect(await aliases.resolve('fraud', 'production')).toBe(1);
    expect((await aliases.history('fraud', 'production')).map((e) => e.action)).toEqual([
      'promote',
      'promote',
      'rollback',
    ]);
    const [record] = (await rollbacks()).map((e) => e.record);
    expect(record).toMatchObject({
      type: 'rollback',
      model: 'fraud',
      version: 1,
      actor: 'alice',
      reason: 'alerts doubled',
      details: { alias: 'production', from: 2, to: 1, aliasLogSeq: entry.seq },
    });

    // Version 1 is the first production ever pointed to: there is nothing earlier.
    const again = await slipwayAs('alice', world.env, ['rollback', 'fraud', '--reason', 'once more']);
    expect(again.code).toBe(EXIT.badInput);
    expect(again.stderr).toContain('error (NothingToRollBack)');
    expect(again.stderr).toContain('there is no earlier version to go back to');
    expect(await aliases.resolve('fraud', 'production')).toBe(1);
    expect(await rollbacks()).toHaveLength(1);
  });
});
