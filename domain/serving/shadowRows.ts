import type { RequestRows } from './requestRows';

/** What a version reads from a request: its features in order, and which of them as text. */
export interface RowShape {
  features: readonly string[];
  /** The categorical features, read as text (the rest are numbers). */
  text: readonly string[];
}

/**
 * The rows read for `from` as `to` takes them, matched by feature name: a shadow candidate whose
 * features are the answering version's in another order, or fewer of them, scores the very values
 * the answering version scored. Undefined when `to` takes a feature `from` did not read, or reads
 * one as text that `from` read as a number (or the reverse): those rows are not comparable, and
 * reading the body again would misplace values sent as arrays in `from`'s order.
 */
export function rowsAs(rows: RequestRows, from: RowShape, to: RowShape): RequestRows | undefined {
  const place = (shape: RowShape) => {
    const at = new Map<string, { text: boolean; slot: number }>();
    let nNumeric = 0;
    let nText = 0;
    for (const f of shape.features) {
      const text = shape.text.includes(f);
      at.set(f, { text, slot: text ? nText++ : nNumeric++ });
    }
    return { at, nNumeric, nText };
  };
  const source = place(from);
  const target = place(to);
  const { nRows } = rows;
  const x = new Float32Array(nRows * target.nNumeric);
  const texts: string[][] = [];
  for (const f of to.features) {
    const want = target.at.get(f) as { text: boolean; slot: number };
    const have = source.at.get(f);
    if (!have || have.text !== want.text) return undefined;
    if (want.text) {
      texts[want.slot] = rows.texts[have.slot] as string[];
    } else {
      for (let r = 0; r < nRows; r++)
        x[r * target.nNumeric + want.slot] = rows.x[r * source.nNumeric + have.slot] as number;
    }
  }
  return { x, nRows, texts };
}
