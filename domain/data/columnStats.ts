/**
 * Per-column min, max, mean and population std, updated one row at a time (Welford), so a summary
 * of any file size costs memory for one row only.
 */
export class ColumnStats {
  private n = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;

  constructor(readonly width: number) {
    this.mean = new Float64Array(width);
    this.m2 = new Float64Array(width);
    this.min = new Float64Array(width).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  }

  add(values: ArrayLike<number>): void {
    this.n++;
    for (let j = 0; j < this.width; j++) {
      const v = values[j] as number;
      const delta = v - (this.mean[j] as number);
      this.mean[j] = (this.mean[j] as number) + delta / this.n;
      this.m2[j] = (this.m2[j] as number) + delta * (v - (this.mean[j] as number));
      if (v < (this.min[j] as number)) this.min[j] = v;
      if (v > (this.max[j] as number)) this.max[j] = v;
    }
  }

  column(j: number): { min: number; max: number; mean: number; std: number } {
    return {
      min: this.min[j] as number,
      max: this.max[j] as number,
      mean: this.mean[j] as number,
      std: this.n > 0 ? Math.sqrt((this.m2[j] as number) / this.n) : 0,
    };
  }
}
