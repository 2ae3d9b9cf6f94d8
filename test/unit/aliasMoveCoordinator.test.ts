import { describe, expect, it } from 'vitest';
import { ModelAliases } from '../../domain/registry/aliases';
import type { AliasMoveCoordinator } from '../../domain/registry/moveCoordinator';
import { ModelRegistry } from '../../domain/registry/registry';
import { useTempStore } from '../support/tempStore';
import { makeDraft, storeArtifacts } from './registryFixtures';

const temp = useTempStore('slipway-alias-coordinator-');

describe('an alias move tells its coordinator before and after the write (the serving fleet swaps at the move)', () => {
  it('prepares the target before the write, commits with the entry after it, and only when the target changes', async () => {
    const registry = new ModelRegistry(temp.store);
    const draft = makeDraft(await storeArtifacts(temp.store));
    for (const key of ['a', 'b'])
      await registry.registerVersion('fraud', { idempotencyKey: key, build: draft });
    const reader = new ModelAliases(registry);
    const calls: string[] = [];
    const coordinator: AliasMoveCoordinator = {
      prepare: async (move) => {
        // Before the write: the alias still points where it did.
        calls.push(
          `prepare ${move.from}->${move.to} (alias at ${await reader.resolve('fraud', 'production')})`,
        );
        return {
          commit: async (entry) => {
            calls.push(`commit seq ${entry.seq} (alias at ${await reader.resolve('fraud', 'production')})`);
            return { services: 1, swappedAtMove: ['s1'], late: [] };
          },
          abort: async () => {
            calls.push('abort');
          },
        };
      },
    };
    const aliases = new ModelAliases(registry, undefined, { coordinator });
    const at = new Date().toISOString();
    const promote = (version: number) =>
      aliases.move('fraud', 'production', { version, action: 'promote', actor: 'carol', reason: 't', at });
    const first = await promote(1);
    expect(first.serving).toEqual({ services: 1, swappedAtMove: ['s1'], late: [] });
    await promote(2);
    await promote(2); // no change of target: nothing to tell
    // Back from the repeated 2 to 2 (nothing to tell), then to 1.
    await aliases.rollback('fraud', 'production', { actor: 'carol', reason: 't', at });
    await aliases.rollback('fraud', 'production', { actor: 'carol', reason: 't', at });
    expect(calls).toEqual([
      'prepare null->1 (alias at undefined)',
      'commit seq 1 (alias at 1)',
      'prepare 1->2 (alias at 1)',
      'commit seq 2 (alias at 2)',
      'prepare 2->1 (alias at 2)',
      'commit seq 5 (alias at 1)',
    ]);
    expect(await reader.position('fraud', 'production')).toEqual({ version: 1, seq: 5 });
  });

  it('aborts (releases the held services) when a concurrent move takes the number first, then prepares again', async () => {
    const registry = new ModelRegistry(temp.store);
    const draft = makeDraft(await storeArtifacts(temp.store));
    for (const key of ['a', 'b', 'c'])
      await registry.registerVersion('fraud', { idempotencyKey: key, build: draft });
    const other = new ModelAliases(registry);
    const at = new Date().toISOString();
    const calls: string[] = [];
    let raced = false;
    const aliases = new ModelAliases(registry, undefined, {
      coordinator: {
        prepare: async (move) => {
          calls.push(`prepare ${move.from}->${move.to}`);
          if (!raced) {
            raced = true;
            // Another writer moves the alias while this move is being prepared.
            await other.move('fraud', 'production', {
              version: 3,
              action: 'set',
              actor: 'x',
              reason: 't',
              at,
            });
          }
          return {
            commit: async () => {
              calls.push('commit');
              return { services: 0, swappedAtMove: [], late: [] };
            },
            abort: async () => {
              calls.push('abort');
            },
          };
        },
      },
    });
    await aliases.move('fraud', 'production', { version: 2, action: 'promote', actor: 'c', reason: 't', at });
    expect(calls).toEqual(['prepare null->2', 'abort', 'prepare 3->2', 'commit']);
  });
});
