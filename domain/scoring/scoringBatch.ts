import { stringify } from 'csv-stringify/sync';
import type { RowSource } from '../data/csvRows';
import { SUFFIX_BYTES, writeScoredFields } from './scoredFields';

/**
 * One batch of rows on its way through the model: their feature values (float32, the model's
 * input) and their text as it will be written back, the input line's own bytes for a plain line
 * and csv-stringify's rendering for a record csv-parse read (what the general path writes).
 * Reused batch after batch, so reading allocates nothing per row.
 */
export class ScoringBatch {
  rows = 0;
  readonly x: Float32Array;
  private text: Buffer;
  private used = 0;
  private readonly ends: Int32Array;

  /** Each categorical feature's text per row (a model with string inputs; none otherwise). */
  readonly categories: string[][];

  constructor(
    readonly capacity: number,
    private readonly nFeatures: number,
    nCategorical = 0,
  ) {
    this.categories = Array.from({ length: nCategorical }, () => [] as string[]);
    this.x = new Float32Array(capacity * nFeatures);
    this.ends = new Int32Array(capacity);
    this.text = Buffer.allocUnsafe(capacity * 256);
  }

  add(values: Float64Array, source: RowSource): void {
    this.x.set(values, this.rows * this.nFeatures);
    for (let c = 0; c < this.categories.length; c++)
      (this.categories[c] as string[]).push(source.texts[c] as string);
    if (source.buffer) {
      const length = source.end - source.start;
      this.reserve(length);
      source.buffer.copy(this.text, this.used, source.start, source.end);
      this.used += length;
    } else {
      // The record as the general path writes it, without its line break (the new fields follow).
      const line = stringify([source.record as string[]]);
      const length = Buffer.byteLength(line) - 1;
      this.reserve(length + 1);
      this.used += this.text.write(line, this.used, length + 1, 'utf8') - 1;
    }
    this.ends[this.rows++] = this.used;
  }

  /**
   * The batch's output lines: each row's text, then writeScoredFields, then the row's `extra`
   * fields (apply --explain) when given, before the line break.
   */
  render(
    probabilities: Float32Array,
    threshold: number,
    counts: { positives: number },
    extra?: Buffer[],
  ): Buffer {
    const extraBytes = extra ? extra.reduce((s, b) => s + b.length, 0) : 0;
    const out = Buffer.allocUnsafe(this.used + this.rows * SUFFIX_BYTES + extraBytes);
    let o = 0;
    let from = 0;
    for (let i = 0; i < this.rows; i++) {
      const to = this.ends[i] as number;
      o += this.text.copy(out, o, from, to);
      from = to;
      const probability = probabilities[i] as number;
      const label = probability >= threshold ? 1 : 0;
      counts.positives += label;
      o = writeScoredFields(out, o, probability, label);
      if (extra) {
        // Over the line break writeScoredFields ended with, then a new one.
        o = o - 1 + (extra[i] as Buffer).copy(out, o - 1);
        out[o++] = 10;
      }
    }
    return out.subarray(0, o);
  }

  clear(): void {
    for (const column of this.categories) column.length = 0;
    this.rows = 0;
    this.used = 0;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.text.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.text.length, this.used + bytes));
    this.text.copy(grown, 0, 0, this.used);
    this.text = grown;
  }
}
