import type * as ort from 'onnxruntime-node';

/**
 * Where a graph takes its numeric features: the float32 inputs other than the categorical
 * features' string inputs. Two layouts are read, both with the numeric features in the declared
 * order:
 * - one block [N, numeric] (Slipway's exports, Keras and most converters: `features`);
 * - one [N, 1] input per numeric feature, in the graph's input order (skl2onnx's conversion of a
 *   DataFrame pipeline, a Keras model with one input per column).
 * With a single numeric feature the two are the same thing. Each entry says which columns of the
 * row-major numeric matrix its input takes.
 */
export interface NumericInput {
  name: string;
  /** First column of the numeric matrix this input takes. */
  offset: number;
  /** Columns it takes (the numeric count for a block, 1 for a per-feature input). */
  width: number;
}

/**
 * The numeric inputs of a graph whose inputs are `inputs`, for `nNumeric` numeric features and
 * the string inputs named in `categorical`; undefined when they fit neither layout (the caller
 * says what the graph takes instead). `nNumeric` 0 wants no float input at all.
 */
export function numericInputsOf(
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  nNumeric: number,
  categorical: readonly string[],
): NumericInput[] | undefined {
  const strings = inputs.filter((i) => i.isTensor && i.type === 'string' && categorical.includes(i.name));
  if (strings.length !== categorical.length) return undefined;
  const others = inputs.filter((i) => !strings.includes(i));
  if (!others.every((i) => i.isTensor && i.type === 'float32')) return undefined;
  const widthOf = (i: ort.InferenceSession.ValueMetadata) =>
    i.isTensor && i.shape.length === 2 ? i.shape[1] : Number.NaN;
  const fits = (i: ort.InferenceSession.ValueMetadata, width: number) => {
    const w = widthOf(i);
    // A dimension given by name (or unknown) takes what it is fed.
    return typeof w !== 'number' || w === width;
  };
  if (nNumeric === 0) return others.length === 0 ? [] : undefined;
  if (others.length === 1) {
    const input = others[0] as ort.InferenceSession.ValueMetadata;
    return fits(input, nNumeric) ? [{ name: input.name, offset: 0, width: nNumeric }] : undefined;
  }
  if (others.length === nNumeric && others.every((i) => fits(i, 1))) {
    return others.map((i, j) => ({ name: i.name, offset: j, width: 1 }));
  }
  return undefined;
}

/** What numericInputsOf accepts for `nNumeric` numeric features, for refusal messages. */
export function numericInputsWanted(nNumeric: number): string {
  return nNumeric > 0
    ? `the ${nNumeric} numeric features as float32 (one tensor [N, ${nNumeric}] or one [N, 1] each)`
    : 'no float tensor';
}

/**
 * Adds the numeric features of `nRows` rows (row-major `x`, `nNumeric` per row) to `feeds` as
 * `plan` lays them out: the block as is, a per-feature input as its column.
 */
export function addNumericFeeds(
  runtime: typeof ort,
  feeds: Record<string, ort.Tensor>,
  plan: readonly NumericInput[],
  x: Float32Array,
  nRows: number,
  nNumeric: number,
): void {
  for (const input of plan) {
    if (input.width === nNumeric) {
      feeds[input.name] = new runtime.Tensor('float32', x.subarray(0, nRows * nNumeric), [nRows, nNumeric]);
      continue;
    }
    const column = new Float32Array(nRows * input.width);
    for (let r = 0; r < nRows; r++) {
      for (let k = 0; k < input.width; k++)
        column[r * input.width + k] = x[r * nNumeric + input.offset + k] as number;
    }
    feeds[input.name] = new runtime.Tensor('float32', column, [nRows, input.width]);
  }
}
