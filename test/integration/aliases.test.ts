import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { testServices } from '../support/services';
import { makeDraft, storeArtifacts } from '../unit/registryFixtures';

/** Alias moves on the real MinIO: concurrent promotions all land, in one consistent order. */
describe('model aliases on S3 (MinIO)', () => {
  let registry: ModelRegistry;
  let aliases: ModelAliases;
  const at = '2026-11-22T12:00:00.000Z';

  beforeAll(async () => {
    const { s3, bucket } = testServices();
    const store = openArtifactStore(
      loadConfig({
        SLIPWAY_S3_ENDPOINT: s3.endpoint,
        SLIPWAY_S3_ACCESS_KEY: s3.accessKey,
        SLIPWAY_S3_SECRET_KEY: s3.secretKey,
        SLIPWAY_ARTIFACTS: `s3://${bucket}/aliases-test/${randomUUID()}`,
      }),
    );
    registry = new ModelRegistry(store);
    aliases = new ModelAliases(registry);
    const artifacts = await storeArtifacts(store);
    for (let i = 1; i <= 4; i++) {
      await registry.registerVersion('fraud', { idempotencyKey: `seed-${i}`, build: makeDraft(artifacts) });
    }
  });

  it('loses none of 16 concurrent moves, and each saw the state it changed', async () => {
    const moves = Array.from({ length: 16 }, (_, i) => ({ version: (i % 4) + 1, actor: `writer-${i}` }));
    const results = await Promise.all(
      moves.map((m) =>
        aliases.move('fraud', 'production', {
          ...m,
          action: 'set',
          reason: 'race',
          at,
          idempotencyKey: m.actor,
        }),
      ),
    );
    expect(results.every((r) => r.created)).toBe(true);
    const log = await aliases.history('fraud', 'production');
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(new Set(log.map((e) => e.actor))).toEqual(new Set(moves.map((m) => m.actor)));
    // Linearizable: every entry's "previous" is exactly what the entry before it set.
    log.forEach((entry, i) => {
      expect(entry.previous).toBe(i === 0 ? null : log[i - 1]?.version);
    });
    expect(await aliases.resolve('fraud', 'production')).toBe(log.at(-1)?.version);

    // A retried move (same idempotency key) is not applied twice.
    const again = await aliases.move('fraud', 'production', {
      version: 1,
      actor: 'writer-0',
      action: 'set',
      reason: 'retry',
      at,
      idempotencyKey: 'writer-0',
    });
    expect(again.created).toBe(false);
    expect((await aliases.history('fraud')).length).toBe(16);
  });

  it('compare-and-set: of two promotions expecting the same champion, exactly one wins', async () => {
    const current = (await aliases.resolve('fraud', 'production')) ?? null;
    // Two versions other than the current one: a move to the current version changes nothing,
    // so a second move expecting it would rightly still succeed.
    const [first, second] = [1, 2, 3, 4].filter((v) => v !== current);
    const outcomes = await Promise.allSettled(
      [first as number, second as number].map((version) =>
        aliases.move('fraud', 'production', {
          version,
          actor: 'pipeline',
          action: 'promote',
          reason: 'gate',
          at,
          expectedCurrent: current,
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect((loser.reason as Error & { type: string }).type).toBe('AliasConflict');
    expect(String((loser.reason as Error).message)).toMatch(/moved meanwhile/);
  });

  it('rolls back to the version the current one replaced, and refuses an unknown version', async () => {
    await aliases.move('fraud', 'staging', {
      version: 1,
      actor: 'a',
      action: 'promote',
      reason: 'first',
      at,
    });
    await aliases.move('fraud', 'staging', {
      version: 3,
      actor: 'a',
      action: 'promote',
      reason: 'second',
      at,
    });
    const back = await aliases.rollback('fraud', 'staging', { actor: 'b', reason: 'bad', at });
    expect(back.entry).toMatchObject({ version: 1, previous: 3, action: 'rollback' });
    await expect(aliases.rollback('fraud', 'staging', { actor: 'b', reason: 'again', at })).rejects.toThrow(
      /no earlier version/,
    );
    await expect(
      aliases.move('fraud', 'staging', { version: 99, actor: 'a', action: 'set', reason: 'typo', at }),
    ).rejects.toThrow(/99/);
    await expect(
      aliases.move('fraud', 'Prod!', { version: 1, actor: 'a', action: 'set', reason: 'x', at }),
    ).rejects.toThrow(/Invalid alias/);
  });
});
