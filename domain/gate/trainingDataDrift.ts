import type { CategoryDictionary } from '../data/categories';
import type { DatasetMatrix } from '../data/snapshot';
import { type CategoricalDrift, categoricalDrift, numericDrift, OTHER_CATEGORY } from '../validation/drift';
import { sortedSnapshotColumns } from '../validation/featureColumns';
import type { DriftGateInput } from './driftGate';

/**
 * The drift of every feature the two training sets share (the champion's data is the reference),
 * for driftGateChecks; features only one of them has are listed, not compared (the validate step
 * reports added and missing columns).
 *
 * A categorical feature's snapshot cells are codes into each extraction's own dictionary, so its
 * codes are decoded with `dictionaries` (each side's, from its dataset summary) and it is compared
 * as category counts: the champion's training categories, plus OTHER_CATEGORY for every category
 * the candidate's data has and the champion's never had (categoricalDrift's PSI and chi-square over
 * those). A categorical feature without both dictionaries is listed, not compared.
 */
export function trainingDataDrift(
  championVersion: number,
  champion: DatasetMatrix,
  candidate: DatasetMatrix,
  /** Categorical features (their cells are codes of two different dictionaries). */
  categorical: readonly string[] = [],
  dictionaries: {
    champion?: ReadonlyMap<string, CategoryDictionary>;
    candidate?: ReadonlyMap<string, CategoryDictionary>;
  } = {},
): DriftGateInput {
  const inBoth = champion.features.filter((f) => candidate.features.includes(f));
  const decodable = (f: string) =>
    dictionaries.champion?.has(f) === true && dictionaries.candidate?.has(f) === true;
  const shared = inBoth.filter((f) => !categorical.includes(f));
  const categories = inBoth.filter((f) => categorical.includes(f) && decodable(f));
  const notCompared = [
    ...inBoth.filter((f) => categorical.includes(f) && !decodable(f)),
    ...champion.features.filter((f) => !candidate.features.includes(f)),
    ...candidate.features.filter((f) => !champion.features.includes(f)),
  ];
  const reference = sortedSnapshotColumns(champion, shared);
  const current = sortedSnapshotColumns(candidate, shared);
  return {
    champion: championVersion,
    features: [
      ...shared.map((name, j) =>
        numericDrift(name, reference[j] as Float64Array, current[j] as Float64Array),
      ),
      ...categories.map((name) =>
        categoryDrift(
          name,
          champion,
          candidate,
          dictionaries.champion?.get(name) as CategoryDictionary,
          dictionaries.candidate?.get(name) as CategoryDictionary,
        ),
      ),
    ],
    notCompared,
  };
}

/** One categorical feature: both sides' rows counted over the champion's categories plus "other". */
function categoryDrift(
  feature: string,
  champion: DatasetMatrix,
  candidate: DatasetMatrix,
  championDictionary: CategoryDictionary,
  candidateDictionary: CategoryDictionary,
): CategoricalDrift {
  const known = new Set(championDictionary.values);
  const counts = (data: DatasetMatrix, dictionary: CategoryDictionary) => {
    const j = data.features.indexOf(feature);
    const byCode = new Float64Array(dictionary.values.length);
    for (let r = 0; r < data.nRows; r++) {
      const code = data.x[r * data.nCols + j] as number;
      byCode[code] = (byCode[code] as number) + 1;
    }
    const out = new Map<string, number>(championDictionary.values.map((v) => [v, 0]));
    dictionary.values.forEach((value, code) => {
      const key = known.has(value) ? value : OTHER_CATEGORY;
      out.set(key, (out.get(key) ?? 0) + (byCode[code] as number));
    });
    // A category the champion's dictionary lists but its rows never hold counts 0 on both sides.
    for (const [key, n] of out) if (n === 0 && key !== OTHER_CATEGORY) out.delete(key);
    return out;
  };
  return categoricalDrift(
    feature,
    counts(champion, championDictionary),
    counts(candidate, candidateDictionary),
  );
}
