import { LineScanner, type RowPlan } from '../data/csvRows';
import type { ChunkReply } from './chunkProtocol';
import { SUFFIX_BYTES, writeScoredFields } from './scoredFields';

export interface ChunkScorerSetup {
  nFeatures: number;
  /** Rows per model call. */
  batchRows: number;
  threshold: number;
  /** How messages name the input. */
  file: string;
}

/** Probabilities of class 1 for `nRows` rows of `x` (row-major). */
export type ScoreRows = (x: Float32Array, nRows: number) => Promise<Float32Array>;

/**
 * Reads, scores and writes one chunk of a plain CSV (whole lines) at a time: the byte scanner of
 * domain/data/csvRows.ts reads its rows, `score` runs the model over them, and each line comes
 * out as its own bytes plus the label and the probability (the single reader's output, byte for
 * byte). Runs on a scoring thread (chunkScoringThread.ts) and on the main thread alike.
 * One chunk at a time: its buffers are reused chunk after chunk.
 */
export class ChunkScorer {
  private x = new Float32Array(0);
  private lineStart = new Int32Array(0);
  private lineEnd = new Int32Array(0);
  private rows = 0;
  private readonly onRow = (
    values: Float64Array,
    _label: 0 | 1,
    _row: number,
    source: { start: number; end: number },
  ) => {
    const i = this.rows;
    if (i === this.lineStart.length) this.grow(i + 1);
    this.x.set(values, i * this.setup.nFeatures);
    this.lineStart[i] = source.start;
    this.lineEnd[i] = source.end;
    this.rows = i + 1;
  };

  constructor(
    private readonly setup: ChunkScorerSetup,
    private readonly score: ScoreRows,
  ) {}

  /** The chunk's output, or `refused` when a line in it is not one the byte scanner takes. */
  async run(id: number, bytes: Buffer, line: number, plan: RowPlan): Promise<ChunkReply> {
    const { nFeatures: nF, batchRows, threshold } = this.setup;
    this.rows = 0;
    const scanner = new LineScanner(this.setup.file, undefined, this.onRow, plan, line);
    // The chunk ends at a line break (or the file's end), so every line in it is complete.
    const stopped = await scanner.lines(bytes, true);
    // The caller reads on from this chunk's start the way a single reader does (plain lines,
    // then csv-parse), so nothing of this chunk is used.
    if (stopped !== undefined) return { id, refused: true };

    const rows = this.rows;
    const probabilities = new Float32Array(rows);
    for (let from = 0; from < rows; from += batchRows) {
      const n = Math.min(batchRows, rows - from);
      let scores: Float32Array;
      try {
        scores = await this.score(this.x.subarray(from * nF, (from + n) * nF), n);
      } catch (error) {
        throw new Error(`onnxruntime failed to score a batch: ${(error as Error).message}`);
      }
      probabilities.set(scores, from);
    }

    // Owns its memory, so it can move to another thread without a copy.
    const out = Buffer.from(new ArrayBuffer(bytes.length + rows * SUFFIX_BYTES));
    let o = 0;
    let positives = 0;
    const { lineStart, lineEnd } = this;
    for (let i = 0; i < rows; i++) {
      o += bytes.copy(out, o, lineStart[i] as number, lineEnd[i] as number);
      const probability = probabilities[i] as number;
      const label = probability >= threshold ? 1 : 0;
      positives += label;
      o = writeScoredFields(out, o, probability, label);
    }
    return { id, output: out.subarray(0, o), rows, positives };
  }

  private grow(capacity: number): void {
    const size = Math.max(capacity, 2 * this.lineStart.length, 1024);
    const x = new Float32Array(size * this.setup.nFeatures);
    x.set(this.x);
    this.x = x;
    const start = new Int32Array(size);
    start.set(this.lineStart);
    this.lineStart = start;
    const end = new Int32Array(size);
    end.set(this.lineEnd);
    this.lineEnd = end;
  }
}
