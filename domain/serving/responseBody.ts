import { stringify } from 'csv-stringify/sync';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import type { AddedColumns } from '../scoring/columns';
import { writeProbability } from '../scoring/probabilityText';
import { SUFFIX_BYTES, writeScoredFields } from '../scoring/scoredFields';
import type { CsvLines } from './requestRows';

/** Which version answered: in every response's body and headers. */
export interface Answerer {
  model: string;
  version: number;
  /** The alias the service follows, when it follows one. */
  alias?: string;
}

/**
 * The JSON answer: the version that answered and, per row, the columns apply adds, with the same
 * label (probability >= threshold) and the same nine-digit probability text (probabilityText.ts).
 */
export function jsonAnswer(
  answerer: Answerer,
  columns: AddedColumns,
  probabilities: Float32Array,
  threshold: number,
  /** `?explain=k`: each row's members (explainRequest.ts jsonExplanations), before its closing brace. */
  extra?: Buffer[],
): Buffer {
  const { head, predicted, probability } = jsonParts(answerer, columns);
  const perRow = predicted.length + probability.length + SUFFIX_BYTES;
  const extraBytes = extra ? extra.reduce((n, b) => n + b.length, 0) : 0;
  const out = Buffer.allocUnsafe(head.length + probabilities.length * perRow + extraBytes + 4);
  let o = head.copy(out, 0);
  for (let i = 0; i < probabilities.length; i++) {
    if (i > 0) out[o++] = 44;
    o = put(out, o, predicted);
    const p = probabilities[i] as number;
    out[o++] = p >= threshold ? 49 : 48;
    o = put(out, o, probability);
    o = writeProbability(out, o, p);
    if (extra) o += (extra[i] as Buffer).copy(out, o);
    out[o++] = 125;
  }
  out[o++] = 93;
  out[o++] = 125;
  out[o++] = 10;
  return out.subarray(0, o);
}

/** `part` written at `o` of `out`, byte by byte: for a few bytes, cheaper than a native copy. */
function put(out: Buffer, o: number, part: Buffer): number {
  for (let k = 0; k < part.length; k++) out[o++] = part[k] as number;
  return o;
}

/** The fixed bytes of a JSON answer: what comes before the rows, and each row's member names. */
interface JsonParts {
  head: Buffer;
  predicted: Buffer;
  probability: Buffer;
}

/**
 * The parts of the answers of the versions answering lately, by answerer and columns: a single-row
 * answer would otherwise spend more on building them than on its row.
 */
const partsCache = new Map<string, JsonParts>();
const PARTS_CACHED = 64;

function jsonParts(answerer: Answerer, columns: AddedColumns): JsonParts {
  const names = [columns.predicted, columns.probability, ...(columns.explanation ?? [])];
  const key = JSON.stringify([answerer.model, answerer.version, answerer.alias ?? null, names]);
  let parts = partsCache.get(key);
  if (parts === undefined) {
    parts = {
      head: Buffer.from(
        `{"model":${JSON.stringify(answerer.model)},"version":${answerer.version}` +
          `${answerer.alias === undefined ? '' : `,"alias":${JSON.stringify(answerer.alias)}`}` +
          `,"columns":${JSON.stringify(names)},"rows":[`,
      ),
      predicted: Buffer.from(`{${JSON.stringify(columns.predicted)}:`),
      probability: Buffer.from(`,${JSON.stringify(columns.probability)}:`),
    };
    if (partsCache.size >= PARTS_CACHED) partsCache.clear();
    partsCache.set(key, parts);
  }
  return parts;
}

/**
 * The CSV answer: every line as sent with apply's two columns appended (and, for `?explain=k`,
 * the reason/effect fields RowExplainer.explain renders), as apply writes a file.
 */
export function csvAnswer(
  csv: CsvLines,
  columns: AddedColumns,
  probabilities: Float32Array,
  threshold: number,
  extra?: Buffer[],
): Buffer {
  const header = [columns.predicted, columns.probability, ...(columns.explanation ?? [])];
  const added = Buffer.from(`,${stringify([header]).slice(0, -1)}\n`);
  const extraBytes = extra ? extra.reduce((n, b) => n + b.length, 0) : 0;
  const out = Buffer.allocUnsafe(
    csv.text.length + added.length + probabilities.length * SUFFIX_BYTES + extraBytes,
  );
  let o = csv.text.copy(out, 0, csv.starts[0], csv.ends[0]);
  o += added.copy(out, o);
  for (let i = 0; i < probabilities.length; i++) {
    o += csv.text.copy(out, o, csv.starts[i + 1], csv.ends[i + 1]);
    const p = probabilities[i] as number;
    o = writeScoredFields(out, o, p, p >= threshold ? 1 : 0);
    if (extra) {
      // Over the line break writeScoredFields ended with, then a new one (as apply's batches do).
      o = o - 1 + (extra[i] as Buffer).copy(out, o - 1);
      out[o++] = 10;
    }
  }
  return out.subarray(0, o);
}

/** An anomaly version's two columns, named as apply names them (domain/scoring/anomalyCsv.ts). */
export const ANOMALY_COLUMNS = [ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT] as const;

/**
 * An anomaly version's JSON answer: per row `anomaly_score` (higher is more anomalous) and
 * `predicted_outlier` (negative for outliers), each the float32 the graph gave, written as apply
 * writes it (String of the number), so a client reads back the very values apply's file holds.
 */
export function anomalyJsonAnswer(answerer: Answerer, score: Float32Array, outlier: Float32Array): Buffer {
  const [s, o] = ANOMALY_COLUMNS.map((c) => JSON.stringify(c));
  const rows = Array.from(score, (v, i) => `{${s}:${String(v)},${o}:${String(outlier[i])}}`);
  return Buffer.from(
    `{"model":${JSON.stringify(answerer.model)},"version":${answerer.version}` +
      `${answerer.alias === undefined ? '' : `,"alias":${JSON.stringify(answerer.alias)}`}` +
      `,"columns":${JSON.stringify(ANOMALY_COLUMNS)},"rows":[${rows.join(',')}]}\n`,
  );
}

/** An anomaly version's CSV answer: every line as sent with apply's two columns appended. */
export function anomalyCsvAnswer(csv: CsvLines, score: Float32Array, outlier: Float32Array): Buffer {
  const parts: Buffer[] = [
    csv.text.subarray(csv.starts[0], csv.ends[0]),
    Buffer.from(`,${stringify([[...ANOMALY_COLUMNS]]).slice(0, -1)}\n`),
  ];
  for (let i = 0; i < score.length; i++) {
    parts.push(csv.text.subarray(csv.starts[i + 1], csv.ends[i + 1]));
    parts.push(Buffer.from(`,${String(score[i])},${String(outlier[i])}\n`));
  }
  return Buffer.concat(parts);
}
