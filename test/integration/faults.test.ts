import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultLab } from '../faults/harness';
import { manyAtOnce, storageOutage, temporalRestarted, workerKilledMidTraining } from '../faults/scenarios';

/**
 * The fault script (`npm run test:faults`) at CI size: each fault once, 6 pipelines at once. Its
 * own Temporal and MinIO (not the shared test services), since it stops and restarts them.
 */
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

  for (const [name, scenario] of [
    ['a worker killed with SIGKILL mid-training', workerKilledMidTraining],
    ['the Temporal server restarted mid-pipeline', temporalRestarted],
    ['MinIO down for 25 s during a pipeline', storageOutage],
    ['6 pipelines for one model at once over two workers', (l: FaultLab) => manyAtOnce(l, { concurrent: 6 })],
  ] as const) {
    it(`survives ${name}`, { timeout: 600_000 }, async () => {
      const report = await scenario(lab);
      expect(report.notes).toEqual([]);
      expect(report.completed).toBe(report.trials);
      expect(report.dataLost).toBe(0);
      expect(report.artifactsVerified).toBeGreaterThanOrEqual(report.trials * 7);
    });
  }
});
