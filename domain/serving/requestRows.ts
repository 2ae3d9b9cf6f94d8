import { parse as parseCsv } from 'csv-parse/sync';
import { FLOAT32_MAX, parseCategoryCell, parseFeatureCell, shown } from '../data/cells';
import { didYouMean } from '../data/didYouMean';
import { nativeCsvScan } from '../data/nativeCsvScan';
import { scanDecimal, scanned } from '../data/numberBytes';
import { type AddedColumns, matchFeatureColumns } from '../scoring/columns';
import { badRequest, RequestError } from './errors';
import { readJsonRowBytes } from './jsonRowBytes';
import type { RequestLimits } from './limits';

/** The rows of one request as the model takes them, and what a CSV answer echoes back. */
export interface RequestRows {
  /**
   * Row-major raw values of the numeric features (every feature but the categorical ones), in
   * the version's feature order: nRows x nFeatures for a version without categorical features.
   */
  x: Float32Array;
  nRows: number;
  /**
   * The categorical features' text (trimmed, as apply reads a cell), one array of nRows per
   * feature in the order they were given; empty when there are none.
   */
  texts: string[][];
  /**
   * CSV bodies: the lines as sent, the header first (`text` from `starts[i]` to `ends[i]`, without
   * line breaks), so the answer keeps every column.
   */
  csv?: CsvLines;
}

export interface CsvLines {
  text: Buffer;
  starts: number[];
  ends: number[];
}

/** Where the body's rows come from in messages, as apply names its input file. */
export const BODY = 'request body';

/**
 * Where each feature's value goes: slot j >= 0 is its column in `x`, -(1 + c) its place in
 * `texts` (a categorical feature, read as text); and how many numeric features there are.
 */
function featureSlots(
  features: readonly string[],
  categorical: readonly string[],
): { slots: Int32Array; nNumeric: number; nText: number } {
  const slots = new Int32Array(features.length);
  let nNumeric = 0;
  let nText = 0;
  features.forEach((f, j) => {
    slots[j] = categorical.includes(f) ? -1 - nText++ : nNumeric++;
  });
  return { slots, nNumeric, nText };
}

function textColumns(nText: number, nRows: number): string[][] {
  return Array.from({ length: nText }, () => new Array<string>(nRows));
}

function tooManyRows(n: number, limits: RequestLimits): RequestError {
  return new RequestError(
    413,
    'TooManyRows',
    `The request has ${n} rows; at most ${limits.maxRows} are scored per request. Split it into smaller batches.`,
    { rows: n, maxRows: limits.maxRows },
  );
}

/**
 * A JSON body: `{"rows": [...]}`, a bare array of rows, or one row alone. A row is an object by
 * feature name (other keys are ignored, as apply keeps other columns) or an array of the values in
 * the version's feature order. Every value must be a finite number float32 can hold; the first
 * one that is not is refused by its place (`rows[3].Amount`) with what was found.
 */
export function readJsonRows(
  body: Buffer,
  features: readonly string[],
  limits: RequestLimits,
  /** Features read as text (an anomaly version's categorical ones): a JSON string each. */
  categorical: readonly string[] = [],
): RequestRows {
  // Rows of plain numbers (arrays or objects), read from the bytes (jsonRowBytes.ts); anything else below.
  const fast =
    features.includes('rows') || categorical.length > 0
      ? undefined
      : readJsonRowBytes(body, features, limits.maxRows);
  if (fast) return { ...fast, texts: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest(
      'MalformedJson',
      `The request body is not JSON (${(error as Error).message}). Send {"rows": [...]} with ` +
        'Content-Type: application/json, or a CSV with Content-Type: text/csv.',
    );
  }
  let rows: unknown[];
  let single = false;
  if (Array.isArray(doc)) rows = doc;
  else if (doc !== null && typeof doc === 'object' && 'rows' in doc && !features.includes('rows')) {
    const listed = (doc as { rows: unknown }).rows;
    if (!Array.isArray(listed)) {
      throw badRequest(
        'MalformedRows',
        '"rows" must be an array of rows (objects by feature name or arrays).',
      );
    }
    rows = listed;
  } else if (doc !== null && typeof doc === 'object') {
    rows = [doc];
    single = true;
  } else {
    throw badRequest(
      'MalformedRows',
      'The JSON body must be {"rows": [...]}, an array of rows, or one row object.',
    );
  }
  if (rows.length === 0) throw badRequest('NoRows', 'The request has no rows to score.');
  if (rows.length > limits.maxRows) throw tooManyRows(rows.length, limits);
  const n = features.length;
  const { slots, nNumeric, nText } = featureSlots(features, categorical);
  const x = new Float32Array(rows.length * nNumeric);
  const texts = textColumns(nText, rows.length);
  const put = (r: number, j: number, value: unknown, at: string) => {
    const slot = slots[j] as number;
    const name = features[j] as string;
    if (slot >= 0) x[r * nNumeric + slot] = jsonValue(value, at, name, j);
    else (texts[-1 - slot] as string[])[r] = jsonText(value, at, name, j);
  };
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const at = single ? '' : `rows[${r}]`;
    if (Array.isArray(row)) {
      if (row.length !== n) {
        throw badRequest(
          'WrongRowLength',
          `${at || 'the row'} has ${row.length} values; the model takes ${n}, in this order: ${features.join(', ')}.`,
          { row: r, values: row.length, features },
        );
      }
      for (let j = 0; j < n; j++) put(r, j, row[j], at);
    } else if (row !== null && typeof row === 'object') {
      const object = row as Record<string, unknown>;
      for (let j = 0; j < n; j++) {
        const name = features[j] as string;
        const value = object[name];
        if (value === undefined) throw missingField(at, name, object, features);
        put(r, j, value, at);
      }
    } else {
      throw badRequest(
        'MalformedRows',
        `${at || 'the row'} is ${row === null ? 'null' : typeof row}; a row is an object by feature name or an array in feature order.`,
        { row: r },
      );
    }
  }
  return { x, nRows: rows.length, texts };
}

function field(at: string, name: string, index?: number): string {
  const path = at ? `${at}.${name}` : name;
  return index === undefined ? path : `${path} (value ${index + 1})`;
}

function missingField(at: string, name: string, row: Record<string, unknown>, features: readonly string[]) {
  const keys = Object.keys(row);
  const missing = features.filter((f) => row[f] === undefined);
  return badRequest(
    'MissingField',
    `${field(at, name)} is missing${missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1, 6).join(', ')}${missing.length > 6 ? ', ...' : ''})` : ''}.` +
      `${didYouMean([name], keys)} The model needs ${features.join(', ')}; names must match exactly (case included).`,
    { field: name, missing },
  );
}

function jsonValue(value: unknown, at: string, name: string, index: number): number {
  if (typeof value === 'number') {
    if (Math.abs(value) > FLOAT32_MAX) {
      throw badRequest(
        'ValueOutOfRange',
        `${field(at, name)}: ${value} is beyond the float32 range (±3.4e38) the model computes in.`,
        { field: name },
      );
    }
    return value;
  }
  const found =
    value === null ? 'null' : typeof value === 'string' ? `the string ${shown(value)}` : typeof value;
  throw badRequest(
    'NonNumericValue',
    `${field(at, name)} is ${found}, not a number. ${name} is a numeric feature: send it as a JSON number ` +
      '(no quotes, no null; fill in or drop rows with missing values).',
    { field: name, column: index },
  );
}

/** A categorical feature's value: a JSON string, trimmed and not empty (as apply reads a cell). */
function jsonText(value: unknown, at: string, name: string, index: number): string {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text !== '') return text;
  }
  const found =
    value === null
      ? 'null'
      : typeof value === 'string'
        ? 'an empty string'
        : typeof value === 'number'
          ? `the number ${value}`
          : typeof value;
  throw badRequest(
    'NonTextValue',
    `${field(at, name)} is ${found}, not text. ${name} is a categorical feature: send its category as a ` +
      `JSON string${typeof value === 'number' ? ` ("${value}")` : ''}; a category never seen in training is scored, not refused.`,
    { field: name, column: index },
  );
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * A CSV body with a header row, read as apply reads a file: features matched by name (any order,
 * other columns kept and echoed back), cells as apply parses them (errors name the row, counted
 * with the header as row 1, and the column). Plain lines are scanned as bytes (domain/data's
 * number reader, cells.ts for whatever it does not vouch for); a body with a quote in it goes to
 * csv-parse.
 */
export function readCsvRows(
  body: Buffer,
  features: readonly string[],
  added: AddedColumns,
  limits: RequestLimits,
  /** Features read as text (an anomaly version's categorical ones), trimmed as apply reads them. */
  categorical: readonly string[] = [],
): RequestRows {
  return body.includes(QUOTE)
    ? quotedRows(body, features, added, limits, categorical)
    : plainRows(body, features, added, limits, categorical);
}

/** Each line's [start, end) in `text`, without line breaks; blank lines skipped. */
function lineBounds(text: Buffer): { starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  let start = text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
  while (start < text.length) {
    let end = text.indexOf(LF, start);
    if (end < 0) end = text.length;
    const stop = end > start && text[end - 1] === CR ? end - 1 : end;
    if (stop > start) {
      starts.push(start);
      ends.push(stop);
    }
    start = end + 1;
  }
  return { starts, ends };
}

function header(
  cells: string[],
  features: readonly string[],
  added: AddedColumns,
  rows: number,
  limits: RequestLimits,
) {
  if (rows === 0) throw badRequest('NoRows', 'The CSV body has a header but no rows to score.');
  if (rows > limits.maxRows) throw tooManyRows(rows, limits);
  const columns = matchFeatureColumns(cells, [...features], BODY, added);
  const place = new Int32Array(cells.length).fill(-1);
  columns.forEach((c, j) => {
    place[c] = j;
  });
  return place;
}

function raggedRow(row: number, fields: number, width: number): RequestError {
  return badRequest(
    'RaggedRow',
    `${BODY}, row ${row}: ${fields} fields where the header has ${width}. Check for a missing or extra comma.`,
    { row, fields, width },
  );
}

function plainRows(
  body: Buffer,
  features: readonly string[],
  added: AddedColumns,
  limits: RequestLimits,
  categorical: readonly string[],
): RequestRows {
  const { starts, ends } = lineBounds(body);
  if (starts.length === 0) throw badRequest('NoRows', 'The CSV body is empty: send a header row, then rows.');
  const nRows = starts.length - 1;
  const headerCells = body.toString('utf8', starts[0], ends[0]).split(',');
  const place = header(headerCells, features, added, nRows, limits);
  const width = headerCells.length;
  const { slots, nNumeric: n, nText } = featureSlots(features, categorical);
  const x = new Float32Array(nRows * n);
  const texts = textColumns(nText, nRows);
  // The leading plain lines through the native scanner apply uses (it takes only lines it reads
  // exactly as the loop below does, and stops at the first other one; numbers only); the rest below.
  let r = nText === 0 ? nativeRows(body, starts, width, place, nRows, n, x) : 0;
  for (; r < nRows; r++) {
    const stop = ends[r + 1] as number;
    let pos = starts[r + 1] as number;
    let c = 0;
    for (;;) {
      const j = c < width ? (place[c] as number) : -1;
      const slot = j >= 0 ? (slots[j] as number) : 0;
      let next: number;
      if (j >= 0 && slot < 0) {
        next = body.indexOf(COMMA, pos);
        if (next < 0 || next > stop) next = stop;
        (texts[-1 - slot] as string[])[r] = parseCategoryCell(body.toString('utf8', pos, next), {
          file: BODY,
          row: r + 2,
          column: features[j] as string,
        });
      } else if (j >= 0) {
        let value = scanDecimal(body, pos, stop);
        next = scanned.end;
        if (Number.isNaN(value) || (next < stop && body[next] !== COMMA)) {
          // Not a plain number: cells.ts gives the value or the error, as apply does.
          next = body.indexOf(COMMA, pos);
          if (next < 0 || next > stop) next = stop;
          value = parseFeatureCell(body.toString('utf8', pos, next), {
            file: BODY,
            row: r + 2,
            column: features[j] as string,
          });
        }
        x[r * n + slot] = value;
      } else {
        next = body.indexOf(COMMA, pos);
        if (next < 0 || next > stop) next = stop;
      }
      c++;
      if (next >= stop) break;
      pos = next + 1;
    }
    if (c !== width) throw raggedRow(r + 2, c, width);
  }
  return { x, nRows, texts, csv: { text: body, starts, ends } };
}

/** Rows 0.. of the body read by native/csv-scan into `x`; how many (0 when it is not built). */
function nativeRows(
  body: Buffer,
  starts: readonly number[],
  width: number,
  place: Int32Array,
  nRows: number,
  n: number,
  x: Float32Array,
): number {
  const addon = nativeCsvScan();
  if (!addon || nRows === 0) return 0;
  const values = new Float64Array(nRows * n);
  const taken = addon.scanLines(
    body,
    starts[1] as number,
    width,
    place,
    -1,
    values,
    new Uint8Array(nRows),
    new Int32Array(nRows),
    new Int32Array(nRows),
  );
  // Lines it reads are consecutive lines of the body with no blank one between (it stops at one),
  // so its rows are rows 0 to taken - 1 of lineBounds.
  for (let i = 0; i < taken * n; i++) x[i] = values[i] as number;
  return taken;
}

function quotedRows(
  body: Buffer,
  features: readonly string[],
  added: AddedColumns,
  limits: RequestLimits,
  categorical: readonly string[],
): RequestRows {
  let records: Array<{ record: string[]; raw: string }>;
  try {
    records = parseCsv(body, {
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as Array<{
      record: string[];
      raw: string;
    }>;
  } catch (error) {
    throw badRequest('MalformedCsv', `${BODY}: ${(error as Error).message}. Check the quoting.`);
  }
  const first = records[0];
  if (first === undefined) throw badRequest('NoRows', 'The CSV body is empty: send a header row, then rows.');
  const nRows = records.length - 1;
  const place = header(first.record, features, added, nRows, limits);
  const width = first.record.length;
  const { slots, nNumeric: n, nText } = featureSlots(features, categorical);
  const x = new Float32Array(nRows * n);
  const texts = textColumns(nText, nRows);
  for (let r = 0; r < nRows; r++) {
    const cells = (records[r + 1] as { record: string[] }).record;
    if (cells.length !== width) throw raggedRow(r + 2, cells.length, width);
    for (let c = 0; c < width; c++) {
      const j = place[c] as number;
      if (j < 0) continue;
      const slot = slots[j] as number;
      const cell = { file: BODY, row: r + 2, column: features[j] as string };
      if (slot >= 0) x[r * n + slot] = parseFeatureCell(cells[c] as string, cell);
      else (texts[-1 - slot] as string[])[r] = parseCategoryCell(cells[c] as string, cell);
    }
  }
  // The records as sent (csv-parse's raw text), one per line, for the answer to echo.
  const lines = records.map((rec) => Buffer.from(rec.raw.replace(/\r?\n$/, '')));
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const line of lines) {
    starts.push(at);
    ends.push(at + line.length);
    at += line.length;
  }
  return { x, nRows, texts, csv: { text: Buffer.concat(lines), starts, ends } };
}
