import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import * as ort from 'onnxruntime-node';
import { parseFeatureCell } from '../data/cells';
import { datasetError, where } from '../data/errors';
import { ScoringError } from './errors';

export interface ScoreCsvOptions {
  inputPath: string;
  /** Written whole or not at all: rows go to a temporary file renamed into place at the end. */
  outputPath: string;
  onnx: Uint8Array;
  /** The model's input columns in the order its graph expects them. */
  features: string[];
  target: string;
  threshold: number;
  /** Which graph output holds the probability; default "probability" if present, else the first. */
  outputName?: string;
  batchRows?: number;
  onProgress?(rowsScored: number): void;
}

export interface ScoreCsvResult {
  rowsScored: number;
  positives: number;
  seconds: number;
  outputName: string;
  columns: { predicted: string; probability: string };
}

type Entry = { record: string[]; info: { lines: number; empty_lines: number } };

/**
 * Scores a CSV with an ONNX model the way the operations platform's `apply` does: columns are
 * matched by feature name (their order in the file does not matter, extra columns pass through),
 * and every input row is written back with `predicted(<target>)` and `probability(<target>)`
 * appended. Streams in bounded batches with backpressure, so files larger than memory work.
 */
export async function scoreCsv(options: ScoreCsvOptions): Promise<ScoreCsvResult> {
  const started = performance.now();
  const batchRows = options.batchRows ?? 4096;
  const file = options.inputPath;
  const session = await ort.InferenceSession.create(options.onnx);
  const outputName = pickOutput(session, options.outputName);
  const inputName = session.inputNames[0] as string;
  const tmp = join(
    dirname(options.outputPath),
    `.${basename(options.outputPath)}.${randomUUID().slice(0, 8)}.tmp`,
  );
  const input = createReadStream(file);
  const parser = input.pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  input.on('error', (err) => parser.destroy(err));
  const out = stringify();
  // pipeline() owns the error handling of both ends: a full disk fails the scoring, not the process.
  const written = pipeline(out, createWriteStream(tmp));
  written.catch(() => {}); // observed below; a failure before then must not be "unhandled"

  const nF = options.features.length;
  let columns: number[] | undefined;
  let header: string[] = [];
  let rows: string[][] = [];
  let x = new Float32Array(batchRows * nF);
  let scored = 0;
  let positives = 0;
  const names = { predicted: `predicted(${options.target})`, probability: `probability(${options.target})` };

  const flush = async () => {
    if (rows.length === 0) return;
    const n = rows.length;
    const tensor = new ort.Tensor('float32', x.subarray(0, n * nF), [n, nF]);
    const result = await session.run({ [inputName]: tensor }, [outputName]);
    const probs = (result[outputName] as ort.Tensor).data as Float32Array;
    const perRow = probs.length / n; // a [n, 2] class-probability output: take the positive class
    for (let i = 0; i < n; i++) {
      const p = probs[i * perRow + (perRow - 1)] as number;
      const label = p >= options.threshold ? 1 : 0;
      positives += label;
      if (!out.write([...(rows[i] as string[]), String(label), String(p)])) await once(out, 'drain');
    }
    scored += n;
    options.onProgress?.(scored);
    rows = [];
    x = new Float32Array(batchRows * nF);
  };

  try {
    let lastLine = 0;
    let lastEmpty = 0;
    for await (const { record, info } of parser as AsyncIterable<Entry>) {
      const row = lastLine + 1 + (info.empty_lines - lastEmpty);
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      if (!columns) {
        header = record;
        columns = matchColumns(header, options.features, file, names);
        out.write([...header, names.predicted, names.probability]);
        continue;
      }
      if (record.length !== header.length) {
        throw datasetError(
          'RaggedRow',
          `${where(file, row)}: ${record.length} fields where the header has ${header.length}. ` +
            'Check for an unquoted comma or a cut-off line.',
          { file, row },
        );
      }
      const base = rows.length * nF;
      for (let j = 0; j < nF; j++) {
        x[base + j] = parseFeatureCell(record[columns[j] as number] as string, {
          file,
          row,
          column: options.features[j] as string,
        });
      }
      rows.push(record);
      if (rows.length === batchRows) await flush();
    }
    if (!columns) throw datasetError('EmptyFile', `${file} is empty: expected a header row.`, { file });
    await flush();
    out.end();
    await written;
    await rename(tmp, options.outputPath);
  } catch (error) {
    out.destroy();
    input.destroy();
    await written.catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  } finally {
    await session.release();
  }
  return {
    rowsScored: scored,
    positives,
    seconds: (performance.now() - started) / 1000,
    outputName,
    columns: names,
  };
}

function pickOutput(session: ort.InferenceSession, wanted: string | undefined): string {
  const outputs = session.outputNames;
  if (wanted !== undefined) {
    if (!outputs.includes(wanted)) {
      throw new ScoringError(
        'UnknownModelOutput',
        `The model has no output "${wanted}"; its outputs are ${outputs.join(', ')}. Pick one with --output-name.`,
      );
    }
    return wanted;
  }
  return outputs.includes('probability') ? 'probability' : (outputs[0] as string);
}

/** Header index of each feature, by name; a missing one is an error naming all of them. */
function matchColumns(
  header: string[],
  features: string[],
  file: string,
  added: { predicted: string; probability: string },
): number[] {
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (!index.has(name.trim())) index.set(name.trim(), i);
  });
  const missing = features.filter((f) => !index.has(f));
  if (missing.length > 0) {
    throw new ScoringError(
      'MissingFeatureColumn',
      `${file} lacks the model's feature${missing.length === 1 ? '' : 's'} ${missing.join(', ')}. ` +
        `The model needs ${features.join(', ')}; the file has ${header.join(', ')}. ` +
        'Column order does not matter, names must match exactly.',
    );
  }
  for (const name of [added.predicted, added.probability]) {
    if (index.has(name)) {
      throw new ScoringError(
        'OutputColumnClash',
        `${file} already has a column "${name}", which scoring adds. Rename or drop it first (it may be an earlier output).`,
      );
    }
  }
  return features.map((f) => index.get(f) as number);
}
