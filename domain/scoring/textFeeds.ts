import type * as ort from 'onnxruntime-node';

/**
 * Adds one string tensor [nRows, 1] per categorical input of a graph (its texts, in the order of
 * `categorical`) to `feeds`: the graph's LabelEncoders turn them into codes, so apply, serve and
 * both scorers hand the raw text to onnxruntime the same way.
 */
export function addTextFeeds(
  runtime: typeof ort,
  feeds: Record<string, ort.Tensor>,
  categorical: readonly string[],
  texts: readonly string[][],
  nRows: number,
): void {
  categorical.forEach((name, c) => {
    const column = texts[c] ?? [];
    feeds[name] = new runtime.Tensor('string', column.length === nRows ? column : column.slice(0, nRows), [
      nRows,
      1,
    ]);
  });
}
