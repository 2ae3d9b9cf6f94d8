import { parse as parseCsv } from 'csv-parse/sync';
import { FLOAT32_MAX, parseFeatureCell, shown } from '../data/cells';
import { didYouMean } from '../data/didYouMean';
import { parseDecimalBytes } from '../data/numberBytes';
import { type AddedColumns, matchFeatureColumns } from '../scoring/columns';
import { badRequest, RequestError } from './errors';
import type { RequestLimits } from './limits';

/** The rows of one request as the model takes them, and what a CSV answer echoes back. */
export interface RequestRows {
  /** Row-major nRows x nFeatures raw feature values, in the version's feature order. */
  x: Float32Array;
  nRows: number;
  /** CSV bodies: the header line and each row's line as sent, so the answer keeps every column. */
  csv?: { header: string; lines: string[] };
}

/** Where the body's rows come from in messages, as apply names its input file. */
export const BODY = 'request body';

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
export function readJsonRows(body: Buffer, features: readonly string[], limits: RequestLimits): RequestRows {
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
  const x = new Float32Array(rows.length * n);
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
      for (let j = 0; j < n; j++) x[r * n + j] = jsonValue(row[j], at, features[j] as string, j);
    } else if (row !== null && typeof row === 'object') {
      const object = row as Record<string, unknown>;
      for (let j = 0; j < n; j++) {
        const name = features[j] as string;
        const value = object[name];
        if (value === undefined) throw missingField(at, name, object, features);
        x[r * n + j] = jsonValue(value, at, name, j);
      }
    } else {
      throw badRequest(
        'MalformedRows',
        `${at || 'the row'} is ${row === null ? 'null' : typeof row}; a row is an object by feature name or an array in feature order.`,
        { row: r },
      );
    }
  }
  return { x, nRows: rows.length };
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
    `${field(at, name)} is ${found}, not a number. Every feature is numeric: send it as a JSON number ` +
      '(no quotes, no null; fill in or drop rows with missing values).',
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
 * with the header as row 1, and the column). Plain lines are scanned as bytes; a body with a
 * quote in it goes to csv-parse.
 */
export function readCsvRows(
  body: Buffer,
  features: readonly string[],
  added: AddedColumns,
  limits: RequestLimits,
): RequestRows {
  const lines = body.includes(QUOTE) ? quotedLines(body) : plainLines(body);
  const header = lines[0];
  if (header === undefined)
    throw badRequest('NoRows', 'The CSV body is empty: send a header row, then rows.');
  const nRows = lines.length - 1;
  if (nRows === 0) throw badRequest('NoRows', 'The CSV body has a header but no rows to score.');
  if (nRows > limits.maxRows) throw tooManyRows(nRows, limits);
  const columns = matchFeatureColumns(header.cells, [...features], BODY, added);
  const n = features.length;
  const width = header.cells.length;
  const x = new Float32Array(nRows * n);
  const place = new Int32Array(width).fill(-1);
  columns.forEach((c, j) => {
    place[c] = j;
  });
  for (let r = 0; r < nRows; r++) {
    const line = lines[r + 1] as CsvLine;
    if (line.cells.length !== width) {
      throw badRequest(
        'RaggedRow',
        `${BODY}, row ${r + 2}: ${line.cells.length} fields where the header has ${width}. Check for a missing or extra comma.`,
        { row: r + 2, fields: line.cells.length, width },
      );
    }
    for (let c = 0; c < width; c++) {
      const j = place[c] as number;
      if (j < 0) continue;
      const fast = line.bounds
        ? parseDecimalBytes(body, line.bounds[2 * c] as number, line.bounds[2 * c + 1] as number)
        : Number.NaN;
      x[r * n + j] = Number.isNaN(fast)
        ? parseFeatureCell(line.cells[c] as string, { file: BODY, row: r + 2, column: features[j] as string })
        : fast;
    }
  }
  return {
    x,
    nRows,
    csv: { header: header.text, lines: lines.slice(1).map((l) => l.text) },
  };
}

interface CsvLine {
  /** The line as sent, without its line break. */
  text: string;
  cells: string[];
  /** Plain lines: each cell's [start, end) in the body, for the byte reader. */
  bounds?: Int32Array;
}

function plainLines(body: Buffer): CsvLine[] {
  const out: CsvLine[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(LF, start);
    if (end < 0) end = body.length;
    const stop = end > start && body[end - 1] === CR ? end - 1 : end;
    if (stop > start) {
      const text = body.toString('utf8', start, stop);
      const cells = text.split(',');
      const bounds = new Int32Array(2 * cells.length);
      let from = start;
      for (let c = 0; c < cells.length; c++) {
        const to = c === cells.length - 1 ? stop : body.indexOf(COMMA, from);
        bounds[2 * c] = from;
        bounds[2 * c + 1] = to;
        from = to + 1;
      }
      out.push({ text, cells, bounds });
    }
    start = end + 1;
  }
  return out;
}

function quotedLines(body: Buffer): CsvLine[] {
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
  return records.map(({ record, raw }) => ({ text: raw.replace(/\r?\n$/, ''), cells: record }));
}
