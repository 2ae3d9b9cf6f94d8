import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultLab, passed } from '../faults/harness';
import { allScenarios, ciRotation, type Scenario } from '../faults/scenarios';

/**
 * The fault suite (`npm run test:faults`) at CI size, one trial each: a worker killed mid-training,
 * the Temporal server killed and restarted on its database, 6 pipelines at once, and one more
 * scenario that changes daily (ciRotation: MinIO down mid-run or during promotion, a worker killed
 * in export or registration, a full disk), so CI takes no longer than before while each runs every
 * five days. Its own Temporal and MinIO (not the shared test services), since it kills them.
 */
const scenario = (name: string): Scenario => {
  const found = allScenarios.find(([n]) => n === name);
  if (!found) throw new Error(`no fault scenario "${name}"`);
  return found[1];
};

describe('faults survived, nothing lost', () => {
  let dir: string;
  let lab: FaultLab;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-faults-it-'));
    lab = new FaultLab(dir);
    await lab.start();
  });
  afterAll(async () => {
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const rotating = ciRotation();
  for (const name of ['kill-training', 'temporal-kill', rotating, 'crowd']) {
    it(`survives ${name}`, { timeout: 600_000 }, async () => {
      const report = await scenario(name)(lab, { concurrent: 6, outageSeconds: 25 });
      console.log(
        `faults: ${report.fault}: ${report.completed} completed, ${report.failedCleanly} failed cleanly of ${report.runs}` +
          (report.resumedFrom.length ? `, resumed from epoch ${report.resumedFrom.join(', ')}` : ''),
      );
      expect(report.notes).toEqual([]);
      expect(passed(report)).toBe(true);
      expect(report.artifactsVerified).toBeGreaterThanOrEqual(report.completed * 7);
    });
  }
});
