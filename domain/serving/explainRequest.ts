import { topByMagnitude } from '../explain/rowExplainer';
import { badRequest } from './errors';

/**
 * The `explain` query parameter of a scoring request (`POST /score?explain=3`): how many features
 * to name per row, as `apply --explain k`. Undefined when the request does not ask. A query
 * parameter rather than a body field, so JSON and CSV requests ask the same way.
 */
export function explainCount(search: string, nFeatures: number): number | undefined {
  const given = new URLSearchParams(search).getAll('explain');
  if (given.length === 0) return undefined;
  const text = (given.length === 1 ? given[0] : given.join(',')) as string;
  const k = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(k) || k < 1 || k > nFeatures) {
    throw badRequest(
      'InvalidExplain',
      `explain=${text} is not a feature count: give explain=k with k from 1 to ${nFeatures} (the model's features), ` +
        'the features that moved each row most, or leave explain out.',
      { field: 'explain', value: text, max: nFeatures },
    );
  }
  return k;
}

/**
 * Each row's explanation as JSON members, ready to close a row object: `,"reason1(<target>)":
 * "<feature>","effect1(<target>)":<effect>...`, the columns apply --explain adds with the same
 * choice (topByMagnitude) and the same four significant digits.
 */
export function jsonExplanations(
  contributions: Float32Array,
  nRows: number,
  features: readonly string[],
  columns: readonly string[],
  k: number,
): Buffer[] {
  const F = features.length;
  const names = features.map((f) => JSON.stringify(f));
  const keys = columns.map((c) => `,${JSON.stringify(c)}:`);
  const top = new Int32Array(k);
  const out: Buffer[] = new Array(nRows);
  for (let i = 0; i < nRows; i++) {
    topByMagnitude(contributions, i * F, F, top);
    let text = '';
    for (let r = 0; r < k; r++) {
      const j = top[r] as number;
      const effect = Number((contributions[i * F + j] as number).toPrecision(4));
      text += `${keys[2 * r]}${names[j]}${keys[2 * r + 1]}${effect}`;
    }
    out[i] = Buffer.from(text);
  }
  return out;
}
