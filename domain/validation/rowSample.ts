import { mulberry32 } from '../random';
import { sortFloat32 } from './distribution';

/** Rows kept for quantiles and histograms: exact below this, a uniform sample above. */
export const DEFAULT_SAMPLE_ROWS = 100_000;
/** Upper bound on sampled cells, so a 2,000-column file keeps 4,000 rows rather than 800 MB. */
const MAX_SAMPLE_CELLS = 8_000_000;
/** Fixed: the same rows give the same sample, hence the same statistics bytes (a retry dedupes). */
const SAMPLE_SEED = 0x5eed;

/**
 * A uniform sample of whole rows (reservoir sampling, Algorithm R, seeded), so quantiles and
 * histograms of a file of any size cost bounded memory: extraction streams and never holds the
 * file. Whole rows rather than per-column samples keep one random draw per row.
 */
export class RowSample {
  readonly capacity: number;
  private readonly cells: Float32Array;
  private readonly random = mulberry32(SAMPLE_SEED);
  private seen = 0;

  constructor(
    readonly width: number,
    sampleRows = DEFAULT_SAMPLE_ROWS,
  ) {
    this.capacity = Math.max(1, Math.min(sampleRows, Math.floor(MAX_SAMPLE_CELLS / Math.max(1, width))));
    this.cells = new Float32Array(this.capacity * width);
  }

  /** Rows offered so far. */
  get rowsSeen(): number {
    return this.seen;
  }

  /** Rows held (all rows seen, up to the capacity). */
  get rowsKept(): number {
    return Math.min(this.seen, this.capacity);
  }

  add(values: ArrayLike<number>): void {
    let slot = this.seen;
    this.seen++;
    if (slot >= this.capacity) {
      slot = Math.floor(this.random() * this.seen);
      if (slot >= this.capacity) return;
    }
    const at = slot * this.width;
    for (let j = 0; j < this.width; j++) this.cells[at + j] = values[j] as number;
  }

  /** Column j of the sample, sorted ascending (a fresh array). */
  sortedColumn(j: number): Float64Array {
    const n = this.rowsKept;
    const column = new Float32Array(n);
    for (let i = 0; i < n; i++) column[i] = this.cells[i * this.width + j] as number;
    return sortFloat32(column);
  }
}
