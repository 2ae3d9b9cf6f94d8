import { describe, expect, it } from 'vitest';
import { AliasFollower } from '../../application/aliasFollower';
import type { ModelAliases } from '../../domain/registry/aliases';
import { addedColumns } from '../../domain/scoring/columns';
import { type LoadedVersion, ServedModel } from '../../domain/serving/servedModel';

/** A loaded version without sessions: enough for the follower, which never scores. */
function loaded(version: number, passed = true): LoadedVersion {
  return {
    model: 'fraud',
    version,
    features: ['a'],
    target: 'Class',
    threshold: 0.5,
    columns: addedColumns('Class'),
    scorer: {
      inputName: 'x',
      outputName: 'p',
      score: async () => new Float32Array(),
      release: async () => {},
    },
    check: passed
      ? { passed: true, rows: 64, source: 'trained', worstBoundUsed: 0.1 }
      : { passed: false, rows: 64, source: 'trained', worstBoundUsed: 9, reason: 'off by 9x' },
    explainer: { notExplainable: 'test' },
  };
}

/** The alias log as the follower reads it: entries by number, the position from the last one. */
function fakeLog() {
  const entries = new Map<number, { alias: string; version: number }>();
  const aliases = {
    position: async () => {
      const seq = Math.max(...entries.keys());
      return { seq, version: (entries.get(seq) as { version: number }).version };
    },
    entry: async (_model: string, seq: number) => {
      const e = entries.get(seq);
      return e
        ? { seq, ...e, previous: null, action: 'promote', actor: 'c', reason: 'r', at: '' }
        : undefined;
    },
  } as unknown as ModelAliases;
  return { entries, aliases };
}

function follower(aliases: ModelAliases, failing: number[] = []) {
  const served = new ServedModel('fraud', 'production');
  served.swapIn(loaded(1));
  const events: string[] = [];
  const f = new AliasFollower(served, aliases, {
    load: async (v) => loaded(v, !failing.includes(v)),
    swapped: ({ from, to, warm }) => events.push(`swapped ${from}->${to}${warm ? ' warm' : ''}`),
    refused: ({ version, kept }) => events.push(`refused ${version} kept ${kept}`),
  });
  return { served, events, f };
}

describe('a served model following its alias (prepare, hold, commit; and its poll)', () => {
  it('holds new requests from hold to commit, then answers with the version of the entry committed', async () => {
    const log = fakeLog();
    log.entries.set(1, { alias: 'production', version: 1 });
    const { served, events, f } = follower(log.aliases);
    expect(await f.prepare(2)).toEqual({ ready: true });
    expect(served.version).toBe(1); // prepared beside, not swapped
    f.hold('m1', 5_000);
    const admitted = served.admission;
    expect(admitted).toBeDefined();
    let through = false;
    void admitted?.then(() => {
      through = true;
    });
    log.entries.set(2, { alias: 'production', version: 2 });
    await Promise.resolve();
    expect(through).toBe(false);
    expect(await f.commit('m1', 2)).toEqual({ version: 2, holdExpired: false });
    await admitted;
    expect(through).toBe(true);
    expect(served.admission).toBeUndefined();
    expect(events).toEqual(['swapped 1->2']);
  });

  it('never swaps back on a poll that read the log before the commit and answers after it', async () => {
    const log = fakeLog();
    log.entries.set(1, { alias: 'production', version: 1 });
    const { served, f } = follower(log.aliases);
    await f.poll();
    await f.prepare(2);
    f.hold('m', 5_000);
    log.entries.set(2, { alias: 'production', version: 2 });
    let answer: (position: { seq: number; version: number }) => void = () => {};
    (log.aliases as unknown as { position: () => Promise<unknown> }).position = () =>
      new Promise((resolve) => {
        answer = resolve;
      });
    const polling = f.poll();
    await f.commit('m', 2);
    answer({ seq: 1, version: 1 });
    await polling;
    expect(served.version).toBe(2);
  });

  it('refuses a version that fails its check at prepare, and records the refusal when the move lands', async () => {
    const log = fakeLog();
    log.entries.set(1, { alias: 'production', version: 1 });
    const { served, events, f } = follower(log.aliases, [4]);
    expect((await f.prepare(4)).ready).toBe(false);
    log.entries.set(2, { alias: 'production', version: 4 });
    expect(await f.commit('m', 2)).toEqual({ version: 1, holdExpired: false });
    expect(served.version).toBe(1);
    expect(events).toEqual(['refused 4 kept 1']);
  });

  it('ends a hold whose commit never comes by reading the alias itself', async () => {
    const log = fakeLog();
    log.entries.set(1, { alias: 'production', version: 1 });
    const { served, f } = follower(log.aliases);
    await f.prepare(2);
    f.hold('m', 20);
    log.entries.set(2, { alias: 'production', version: 2 });
    await served.admission;
    expect(served.version).toBe(2);
    expect(await f.commit('m', 2)).toEqual({ version: 2, holdExpired: true });
  });
});
