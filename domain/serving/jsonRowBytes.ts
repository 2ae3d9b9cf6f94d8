/**
 * The fast path of a JSON body: `{"rows": [...]}` whose rows are arrays of plain numbers in feature
 * order or objects of plain numbers by feature name (what scoring clients send), read straight from
 * the bytes into the float tensor, without building JavaScript arrays and objects first (JSON.parse
 * of 1,000 rows of 30 numbers costs about as much as the model; as objects, several times more).
 *
 * It is an accelerator, never a judge: it takes only bodies that are valid JSON of exactly that
 * shape and returns undefined for anything else, which the general reader (requestRows.ts) then
 * reads or refuses with its own message. Refused here and left to it: a short or long array row, an
 * object row missing a feature, a value that is not a plain number (a string, null, an exponent,
 * more digits than it reads exactly, beyond float32), a key with an escape or a control character,
 * a key it does not know whose value is not a plain number, string, true, false or null, bad JSON.
 * An object row may hold other keys (ignored, as the general reader ignores them) and keys in any
 * order; a key given twice counts with its last value, as JSON.parse keeps it.
 *
 * A number is read as its digits, an integer below 2^53, scaled by an exact power of ten: one
 * correctly rounded operation, the double JSON.parse gives (Clinger's fast path).
 */
import { FLOAT32_MAX } from '../data/cells';

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_EXACT = 2 ** 53 - 1;
const PREFIX = Buffer.from('"rows"');

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const BACKSLASH = 92;

/** The features' names as the bytes of a JSON key (between the quotes), looked up by length. */
interface FeatureKeys {
  names: Uint8Array[];
  /** Feature indexes by key length, the candidates a key of that length may be. */
  byLength: Map<number, number[]>;
}

const keysOf = new WeakMap<readonly string[], FeatureKeys>();

function featureKeys(features: readonly string[]): FeatureKeys {
  let keys = keysOf.get(features);
  if (keys === undefined) {
    const names = features.map((f) => Buffer.from(f, 'utf8'));
    const byLength = new Map<number, number[]>();
    names.forEach((name, j) => {
      byLength.set(name.length, [...(byLength.get(name.length) ?? []), j]);
    });
    keys = { names, byLength };
    keysOf.set(features, keys);
  }
  return keys;
}

/** Whitespace JSON allows between tokens: space, tab, LF, CR. */
function skip(b: Uint8Array, i: number, end: number): number {
  // Most bodies have no whitespace between tokens: one comparison for them.
  if ((b[i] as number) > 32) return i;
  while (i < end) {
    const c = b[i] as number;
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

/** Where the last readNumber stopped (the byte after the number). */
let numberEnd = 0;

/**
 * The plain JSON number at `i` (-?(0|[1-9][0-9]*)(\.[0-9]+)?), or NaN when there is none or it is
 * one this reader does not read exactly (an exponent, too many digits): the caller then bails.
 */
function readNumber(body: Uint8Array, i: number): number {
  let negative = false;
  if (body[i] === MINUS) {
    negative = true;
    i++;
  }
  let c = body[i] as number;
  if (c < 48 || c > 57) return Number.NaN;
  let mantissa = 0;
  if (c === 48) {
    c = body[++i] as number;
    if (c >= 48 && c <= 57) return Number.NaN; // a leading zero
  } else {
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      c = body[++i] as number;
    }
  }
  let decimals = 0;
  if (c === 46) {
    c = body[++i] as number;
    if (c < 48 || c > 57) return Number.NaN;
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      decimals++;
      c = body[++i] as number;
    }
  }
  // An exponent or more digits than an exact integer holds: valid JSON, but the double it spells
  // takes Number(), slower here than JSON.parse: the whole body goes to the general reader.
  if (c === 101 || c === 69 || mantissa > MAX_EXACT || decimals > 22) return Number.NaN;
  numberEnd = i;
  const value = decimals === 0 ? mantissa : mantissa / (POW10[decimals] as number);
  return negative ? -value : value;
}

/** Where the last readString stopped (the byte after the closing quote). */
let stringEnd = 0;

/**
 * The string at `i` (its opening quote) as [start, end) of its bytes, -1 when it has an escape or
 * a control character (left to the general reader) or does not close; `ascii` refuses any byte
 * above 127 too (an unknown key: JSON.parse may decode it to a name this reader does not see).
 */
function readString(body: Uint8Array, i: number, end: number, ascii: boolean): number {
  const start = i + 1;
  for (let k = start; k < end; k++) {
    const c = body[k] as number;
    if (c === QUOTE) {
      stringEnd = k + 1;
      return start;
    }
    if (c === BACKSLASH || c < 32 || (ascii && c > 127)) return -1;
  }
  return -1;
}

/**
 * The feature whose name is the key body[start, stop) (a key without escapes), or -1; rows
 * usually list the features in one order, so `hint` (the one after the last key's) is tried first.
 */
function featureOf(body: Uint8Array, start: number, stop: number, keys: FeatureKeys, hint: number): number {
  const length = stop - start;
  const hinted = keys.names[hint];
  if (hinted !== undefined && hinted.length === length && sameBytes(body, start, hinted)) return hint;
  const candidates = keys.byLength.get(length);
  if (candidates === undefined) return -1;
  for (const j of candidates) if (sameBytes(body, start, keys.names[j] as Uint8Array)) return j;
  return -1;
}

function sameBytes(body: Uint8Array, start: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) if (body[start + k] !== name[k]) return false;
  return true;
}

/** Skips the value of a key that is not a feature: a plain number, a plain string, true, false or null; -1 otherwise. */
function skipOtherValue(body: Uint8Array, i: number, end: number): number {
  const c = body[i];
  if (c === QUOTE) return readString(body, i, end, false) < 0 ? -1 : stringEnd;
  for (const word of WORDS) {
    if (body[i] === word[0] && sameBytes(body, i, word)) return i + word.length;
  }
  return Number.isNaN(readNumber(body, i)) ? -1 : numberEnd;
}

const WORDS = ['true', 'false', 'null'].map((w) => Buffer.from(w));

/**
 * One row as an array from `i` (after its bracket) into x[base...]: the position of its closing
 * bracket, or -1 (a short or long row, a value that is not a plain number within float32).
 */
function arrayRow(
  body: Uint8Array,
  i: number,
  end: number,
  x: Float32Array,
  base: number,
  nFeatures: number,
): number {
  for (let j = 0; j < nFeatures; j++) {
    if (j > 0) {
      if (body[i] !== COMMA) return -1;
      i = skip(body, i + 1, end);
    }
    const value = readNumber(body, i);
    if (!(Math.abs(value) <= FLOAT32_MAX)) return -1; // NaN too
    x[base + j] = value;
    i = skip(body, numberEnd, end);
  }
  return body[i] === CLOSE_ARRAY ? i : -1; // a longer row: the general reader names it
}

/**
 * Row `row` as an object from `i` (after its brace) into its place in x: the position of its
 * closing brace, or -1 (a feature missing, a value that is not a plain number, a key or another
 * member this reader does not take). `seen` marks, per feature, the last row (+ 1) that set it.
 */
function objectRow(
  body: Uint8Array,
  i: number,
  end: number,
  x: Float32Array,
  row: number,
  keys: FeatureKeys,
  seen: Int32Array,
): number {
  const nFeatures = seen.length;
  const base = row * nFeatures;
  let set = 0;
  let hint = 0;
  if (body[i] !== CLOSE_OBJECT) {
    for (;;) {
      if (body[i] !== QUOTE) return -1;
      const keyStart = readString(body, i, end, false);
      if (keyStart < 0) return -1;
      const keyStop = stringEnd - 1;
      i = skip(body, stringEnd, end);
      if (body[i] !== COLON) return -1;
      i = skip(body, i + 1, end);
      const j = featureOf(body, keyStart, keyStop, keys, hint);
      if (j >= 0) {
        const value = readNumber(body, i);
        if (!(Math.abs(value) <= FLOAT32_MAX)) return -1;
        x[base + j] = value;
        if (seen[j] !== row + 1) {
          seen[j] = row + 1;
          set++;
        }
        hint = j + 1;
        i = numberEnd;
      } else {
        // A key that is no feature: read as JSON.parse would only if it is plain ASCII.
        if (readString(body, keyStart - 1, end, true) < 0) return -1;
        i = skipOtherValue(body, i, end);
        if (i < 0) return -1;
      }
      i = skip(body, i, end);
      if (body[i] === COMMA) {
        i = skip(body, i + 1, end);
        continue;
      }
      break;
    }
  }
  return body[i] === CLOSE_OBJECT && set === nFeatures ? i : -1; // a missing feature: named there
}

export function readJsonRowBytes(
  body: Uint8Array,
  features: readonly string[],
  maxRows: number,
): { x: Float32Array; nRows: number } | undefined {
  const nFeatures = features.length;
  const keys = featureKeys(features);
  const end = body.length;
  let i = skip(body, 0, end);
  if (body[i] !== OPEN_OBJECT) return undefined;
  i = skip(body, i + 1, end);
  for (let k = 0; k < PREFIX.length; k++) if (body[i + k] !== PREFIX[k]) return undefined;
  i = skip(body, i + PREFIX.length, end);
  if (body[i] !== COLON) return undefined;
  i = skip(body, i + 1, end);
  if (body[i] !== OPEN_ARRAY) return undefined;
  i = skip(body, i + 1, end);
  // Rows at most as many as the body could hold (each takes at least 2n + 1 bytes).
  const capacity = Math.min(maxRows, Math.floor(end / (2 * nFeatures + 1)) + 1);
  let x = new Float32Array(Math.min(capacity, 1024) * nFeatures);
  // Per feature, the last row (+ 1) an object row set it in: each must be set in every row.
  const seen = new Int32Array(nFeatures);
  let nRows = 0;
  if (body[i] === CLOSE_ARRAY) return undefined; // no rows: the general reader says so
  for (;;) {
    const open = body[i];
    if (open !== OPEN_ARRAY && open !== OPEN_OBJECT) return undefined;
    if (nRows >= capacity) return undefined;
    if ((nRows + 1) * nFeatures > x.length) {
      const grown = new Float32Array(Math.min(capacity, 2 * (nRows + 1)) * nFeatures);
      grown.set(x);
      x = grown;
    }
    i =
      open === OPEN_ARRAY
        ? arrayRow(body, skip(body, i + 1, end), end, x, nRows * nFeatures, nFeatures)
        : objectRow(body, skip(body, i + 1, end), end, x, nRows, keys, seen);
    if (i < 0) return undefined;
    nRows++;
    i = skip(body, i + 1, end);
    if (body[i] === COMMA) {
      i = skip(body, i + 1, end);
      continue;
    }
    if (body[i] !== CLOSE_ARRAY) return undefined;
    break;
  }
  i = skip(body, i + 1, end);
  if (body[i] !== CLOSE_OBJECT) return undefined;
  if (skip(body, i + 1, end) !== end) return undefined;
  return { x: x.length === nRows * nFeatures ? x : x.slice(0, nRows * nFeatures), nRows };
}
