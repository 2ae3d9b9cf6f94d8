/**
 * How much held-out quality moves with the seed alone, for Slipway and for Keras, in the same run:
 * the reference data has few frauds (26 in the quick bench's held-out split), so one run of either
 * trainer can land anywhere from near-useless to good (seen here at quick size: PR-AUC 0.03 to 0.82
 * for one trainer over five seeds). Comparing single runs says little; the medians over a few seeds
 * do. Each seed changes the initial weights, the row order and the dropout masks on both sides.
 */
import { join } from 'node:path';
import { evaluateScores } from '../domain/ml/metrics';
import { kerasSeedProbabilities, runKeras } from './keras/runKeras';
import { readFloat32, readUint8 } from './lib/referenceData';
import { median } from './lib/stats';

export interface SeedQuality {
  seed: number;
  slipwayPrAuc: number;
  kerasPrAuc?: number;
}

export interface QualitySpreadReport {
  backend: string;
  /** The main run's seed first (its figures come from the quality section), then the others. */
  seeds: SeedQuality[];
  slipwayMedian: number;
  kerasMedian?: number;
}

export async function measureQualitySpread(options: {
  dataDir: string;
  backend: string;
  /** The main run's seed and PR-AUCs, already measured. */
  main: SeedQuality;
  /** Runs bench/slipwayTrainer.ts on the backend with these extra arguments (run.ts's trainer). */
  train: (extra: string[]) => Promise<unknown>;
  otherSeeds: number[];
  withKeras: boolean;
  timeoutSeconds: number;
}): Promise<QualitySpreadReport> {
  const { dataDir, backend } = options;
  const yTest = readUint8(dataDir, 'y_test.u8');
  const prAuc = (file: string) => evaluateScores(yTest, readFloat32(dataDir, file)).prAuc;
  const seeds: SeedQuality[] = [options.main];
  for (const seed of options.otherSeeds) {
    const file = `slipway_test_proba_seed${seed}.f32`;
    await options.train(['--seed', String(seed), '--score-to', join(dataDir, file)]);
    const entry: SeedQuality = { seed, slipwayPrAuc: prAuc(file) };
    if (options.withKeras) {
      const keras = await runKeras(dataDir, options.timeoutSeconds, seed);
      if ('unavailable' in keras) throw new Error(keras.unavailable);
      entry.kerasPrAuc = prAuc(kerasSeedProbabilities(seed));
    }
    seeds.push(entry);
  }
  const kerasValues = seeds.flatMap((s) => (s.kerasPrAuc === undefined ? [] : [s.kerasPrAuc]));
  return {
    backend,
    seeds,
    slipwayMedian: median(seeds.map((s) => s.slipwayPrAuc)),
    kerasMedian: kerasValues.length === seeds.length ? median(kerasValues) : undefined,
  };
}
