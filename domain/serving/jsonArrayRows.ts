/**
 * The fast path of a JSON batch: `{"rows": [[v, v, ...], ...]}` (rows as arrays of plain numbers,
 * what a scoring client sends most) read straight from the bytes into the float tensor, without
 * building a JavaScript array of arrays first (JSON.parse of 1,000 rows of 30 numbers costs about as
 * much as the model). It is an accelerator, never a judge: it takes only bodies that are valid JSON
 * of exactly that shape, every row `nFeatures` numbers in the strict JSON grammar, and returns
 * undefined for anything else (objects, strings, an exponent beyond what it reads exactly, a short
 * row, a value beyond float32, bad JSON), which the general reader (requestRows.ts) then reads or
 * refuses with its own message. A number is read as its digits, an integer below 2^53, scaled by
 * an exact power of ten: one correctly rounded operation, the double JSON.parse gives (Clinger's
 * fast path); a body with a number it cannot read so (17 digits, an exponent) goes to JSON.parse
 * whole, at the cost of the rows scanned before it.
 */
import { FLOAT32_MAX } from '../data/cells';

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_EXACT = 2 ** 53 - 1;
const PREFIX = Buffer.from('"rows"');

/** Whitespace JSON allows between tokens: space, tab, LF, CR. */
function skip(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i] as number;
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

export function readJsonArrayRows(
  body: Uint8Array,
  nFeatures: number,
  maxRows: number,
): { x: Float32Array; nRows: number } | undefined {
  const end = body.length;
  let i = skip(body, 0, end);
  if (body[i] !== 123) return undefined; // {
  i = skip(body, i + 1, end);
  for (let k = 0; k < PREFIX.length; k++) if (body[i + k] !== PREFIX[k]) return undefined;
  i = skip(body, i + PREFIX.length, end);
  if (body[i] !== 58) return undefined; // :
  i = skip(body, i + 1, end);
  if (body[i] !== 91) return undefined; // [
  i = skip(body, i + 1, end);
  // Rows at most as many as the body could hold (each takes at least 2n + 1 bytes).
  const capacity = Math.min(maxRows, Math.floor(end / (2 * nFeatures + 1)) + 1);
  let x = new Float32Array(Math.min(capacity, 1024) * nFeatures);
  let nRows = 0;
  if (body[i] === 93) return undefined; // no rows: the general reader says so
  for (;;) {
    if (body[i] !== 91) return undefined; // [
    if (nRows >= capacity) return undefined;
    if ((nRows + 1) * nFeatures > x.length) {
      const grown = new Float32Array(Math.min(capacity, 2 * (nRows + 1)) * nFeatures);
      grown.set(x);
      x = grown;
    }
    i = skip(body, i + 1, end);
    const base = nRows * nFeatures;
    for (let j = 0; j < nFeatures; j++) {
      if (j > 0) {
        if (body[i] !== 44) return undefined; // ,
        i = skip(body, i + 1, end);
      }
      // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      let negative = false;
      if (body[i] === 45) {
        negative = true;
        i++;
      }
      let c = body[i] as number;
      if (c < 48 || c > 57) return undefined;
      let mantissa = 0;
      if (c === 48) {
        i++;
        c = body[i] as number;
        if (c >= 48 && c <= 57) return undefined; // a leading zero
      } else {
        while (c >= 48 && c <= 57) {
          mantissa = mantissa * 10 + (c - 48);
          c = body[++i] as number;
        }
      }
      let decimals = 0;
      if (c === 46) {
        c = body[++i] as number;
        if (c < 48 || c > 57) return undefined;
        while (c >= 48 && c <= 57) {
          mantissa = mantissa * 10 + (c - 48);
          decimals++;
          c = body[++i] as number;
        }
      }
      // An exponent or more digits than an exact integer holds: valid JSON, but the double it
      // spells takes Number(), slower here than JSON.parse: the whole body goes to the general reader.
      if (c === 101 || c === 69 || mantissa > MAX_EXACT || decimals > 22) return undefined;
      let value = decimals === 0 ? mantissa : mantissa / (POW10[decimals] as number);
      if (negative) value = -value;
      if (!(Math.abs(value) <= FLOAT32_MAX)) return undefined;
      x[base + j] = value;
      i = skip(body, i, end);
    }
    if (body[i] !== 93) return undefined; // ] (a longer row: the general reader names it)
    nRows++;
    i = skip(body, i + 1, end);
    if (body[i] === 44) {
      i = skip(body, i + 1, end);
      continue;
    }
    if (body[i] !== 93) return undefined;
    break;
  }
  i = skip(body, i + 1, end);
  if (body[i] !== 125) return undefined; // }
  if (skip(body, i + 1, end) !== end) return undefined;
  return { x: x.length === nRows * nFeatures ? x : x.slice(0, nRows * nFeatures), nRows };
}
