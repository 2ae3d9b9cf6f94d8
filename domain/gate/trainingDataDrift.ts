import type { DatasetMatrix } from '../data/snapshot';
import { numericDrift } from '../validation/drift';
import { sortedSnapshotColumns } from '../validation/featureColumns';
import type { DriftGateInput } from './driftGate';

/**
 * The drift of every feature the two training sets share (the champion's data is the reference),
 * for driftGateChecks; features only one of them has are listed, not compared (the validate step
 * reports added and missing columns).
 */
export function trainingDataDrift(
  championVersion: number,
  champion: DatasetMatrix,
  candidate: DatasetMatrix,
  /** Categorical features (their cells are codes of two different dictionaries): listed, not compared. */
  categorical: readonly string[] = [],
): DriftGateInput {
  const shared = champion.features.filter((f) => candidate.features.includes(f) && !categorical.includes(f));
  const notCompared = [
    ...categorical.filter((f) => champion.features.includes(f)),
    ...champion.features.filter((f) => !candidate.features.includes(f)),
    ...candidate.features.filter((f) => !champion.features.includes(f)),
  ];
  const reference = sortedSnapshotColumns(champion, shared);
  const current = sortedSnapshotColumns(candidate, shared);
  return {
    champion: championVersion,
    features: shared.map((name, j) =>
      numericDrift(name, reference[j] as Float64Array, current[j] as Float64Array),
    ),
    notCompared,
  };
}
