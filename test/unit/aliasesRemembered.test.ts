import { describe, expect, it, vi } from 'vitest';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import { useTempStore } from '../support/tempStore';
import { makeDraft, storeArtifacts } from './registryFixtures';

const temp = useTempStore('slipway-aliases-remembered-');

describe('an alias reader that remembers entries (slipway serve polls with one)', () => {
  it('reads each log entry once, and still sees every new move, rollbacks included', async () => {
    const registry = new ModelRegistry(temp.store);
    const draft = makeDraft(await storeArtifacts(temp.store));
    for (const key of ['a', 'b', 'c'])
      await registry.registerVersion('fraud', { idempotencyKey: key, build: draft });
    const writer = new ModelAliases(registry);
    const reader = new ModelAliases(registry, undefined, { rememberEntries: true });
    const at = new Date().toISOString();
    const promote = (version: number) =>
      writer.move('fraud', 'production', { version, action: 'promote', actor: 'carol', reason: 'test', at });
    const reads = vi.spyOn(temp.store, 'getDocument');
    await promote(1);
    await promote(2);
    const before = reads.mock.calls.length;
    expect(await reader.resolve('fraud', 'production')).toBe(2);
    expect(reads.mock.calls.length - before).toBe(2);
    await promote(3);
    await writer.rollback('fraud', 'production', { actor: 'carol', reason: 'test', at });
    const second = reads.mock.calls.length;
    expect(await reader.resolve('fraud', 'production')).toBe(2);
    // Only the two entries written since.
    expect(reads.mock.calls.length - second).toBe(2);
    const third = reads.mock.calls.length;
    expect(await reader.resolve('fraud', 'production')).toBe(2);
    expect(reads.mock.calls.length - third).toBe(0);
  });
});
