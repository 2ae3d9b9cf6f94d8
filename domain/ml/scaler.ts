import { type StandardScalerParams, standardScalerSchema } from './scalerTypes';

/**
 * Mean and population std (ddof 0) per column, computed in float64 on the training split only.
 * A constant column gets std 1, so it becomes 0 after scaling instead of a division by zero.
 */
export function fitStandardScaler(
  x: Float32Array,
  nRows: number,
  nCols: number,
  features: string[],
): StandardScalerParams {
  if (features.length !== nCols)
    throw new RangeError(`${features.length} feature names for ${nCols} columns`);
  const mean = new Float64Array(nCols);
  const m2 = new Float64Array(nCols);
  for (let i = 0; i < nRows; i++) {
    const row = i * nCols;
    for (let j = 0; j < nCols; j++) {
      const v = x[row + j] as number;
      const delta = v - (mean[j] as number);
      mean[j] = (mean[j] as number) + delta / (i + 1);
      m2[j] = (m2[j] as number) + delta * (v - (mean[j] as number));
    }
  }
  const std = Array.from(m2, (s) => {
    const sd = Math.sqrt(s / nRows);
    return sd > 0 && Number.isFinite(sd) ? sd : 1;
  });
  return { kind: 'standard', features: [...features], mean: Array.from(mean), std };
}

/** (x - mean) / std per column, into a new array. */
export function applyStandardScaler(
  params: StandardScalerParams,
  x: Float32Array,
  nCols: number,
): Float32Array {
  if (params.mean.length !== nCols)
    throw new RangeError(`the scaler has ${params.mean.length} columns, the data ${nCols}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += nCols) {
    for (let j = 0; j < nCols; j++)
      out[i + j] = ((x[i + j] as number) - (params.mean[j] as number)) / (params.std[j] as number);
  }
  return out;
}

export function scalerToJson(params: StandardScalerParams): string {
  return `${JSON.stringify(standardScalerSchema.parse(params), null, 2)}\n`;
}

export function scalerFromJson(text: string): StandardScalerParams {
  return standardScalerSchema.parse(JSON.parse(text));
}
