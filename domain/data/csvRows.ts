import { Readable } from 'node:stream';
import type { CsvError, Options as ParseOptions } from 'csv-parse';
import { type CellPlace, parseCategoryCell, parseFeatureCell, parseLabelCell } from './cells';
import { datasetError, where } from './errors';
import { type CsvScanAddon, nativeCsvScan } from './nativeCsvScan';
import * as numberBytes from './numberBytes';

// Bound once: an imported name compiled to CommonJS is a getter call at every use, which in
// the per-cell loop below cost more than reading the number.
const scanDecimal = numberBytes.scanDecimal;
const scanned = numberBytes.scanned;
// Exact powers of ten: every 10^k with k <= 22 is a float64 without rounding.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_EXACT = 2 ** 53 - 1;

// One record may not exceed this many bytes: an unclosed quote would otherwise swallow the rest
// of the file into a single field and hold it in memory.
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
// A line longer than this goes to the general parser, which applies MAX_RECORD_BYTES with its
// own wording; plain numeric lines are a few hundred bytes.
export const MAX_FAST_LINE_BYTES = 1024 * 1024;

/** Which fields of each record are read, decided from the header. */
export interface RowPlan {
  /** Fields per record (the header's); any other count is a RaggedRow. */
  width: number;
  /** Positions of the feature fields, in the order values are handed out. */
  featureIndex: number[];
  /** Their names, for messages. */
  features: string[];
  /** Position and name of the 0/1 label field, when there is one to read. */
  target?: { index: number; name: string };
  /**
   * Positions and names of categorical fields, read as trimmed text (never as numbers) into
   * `RowSource.texts` in this order. The native block scanner is not used when there are any.
   */
  text?: Array<{ index: number; name: string }>;
}

/**
 * The plan for a model's feature columns: numeric features read as numbers (in their order),
 * categorical ones as text. `columnOf[i]` is the header position of `features[i]`.
 */
export function featureRowPlan(
  width: number,
  features: readonly string[],
  columnOf: readonly number[],
  categorical: readonly string[],
): RowPlan {
  const at = (name: string) => columnOf[features.indexOf(name)] as number;
  const numeric = features.filter((f) => !categorical.includes(f));
  return {
    width,
    featureIndex: numeric.map(at),
    features: numeric,
    ...(categorical.length > 0 ? { text: categorical.map((name) => ({ index: at(name), name })) } : {}),
  };
}

/**
 * The text of the current row, for a consumer that writes it back: a plain line is bytes
 * [start, end) of `buffer` (no line break); a record the general parser read is `record`.
 * Valid only during the onRow call.
 */
export interface RowSource {
  buffer: Buffer | undefined;
  start: number;
  end: number;
  record: string[] | undefined;
  /** The plan's text fields of this row, trimmed and non-empty (empty when the plan has none). */
  texts: string[];
}

export type CsvParserChoice = 'auto' | 'general';

export interface CsvRowsOptions {
  stream: Readable;
  /** How messages name the input. */
  file: string;
  /**
   * 'auto' (default): plain lines are read by the byte scanner, the rest of the file by csv-parse
   * from the first line the scanner cannot take. 'general': csv-parse for every line.
   */
  parser?: CsvParserChoice;
  /** The header's cells (the first non-blank record) and its row; returns what to read. */
  onHeader(cells: string[], row: number): RowPlan;
  /**
   * Each data row: feature values in plan order (the array is reused: copy what you keep), the
   * label (0 when the plan has no target), the row as an editor numbers lines (header = 1,
   * blank lines counted) and its text. A returned promise is awaited before reading on.
   */
  onRow(values: Float64Array, label: 0 | 1, row: number, source: RowSource): void | Promise<void>;
  /**
   * The stream starts after the header, at line `line` of the file, and `plan` is what its header
   * asked for (onHeader is not called): a reader that stopped mid-file hands the rest over here.
   */
  resume?: { plan: RowPlan; line: number };
}

export interface CsvRowsResult {
  /** False when the input has no header (no bytes, or blank lines only). */
  header: boolean;
  rows: number;
  /** Data rows the byte scanner read (the rest went through csv-parse). */
  fastRows: number;
}

// Bytes the scanner refuses: a quote (quoted fields), CR (CRLF or CR line ends), other control
// characters and anything outside ASCII (a BOM, UTF-8 text, other encodings). csv-parse decodes
// those and csv-stringify may quote them on the way out, so their lines go to the general path.
const REFUSED = new Uint8Array(256);
for (let c = 0; c < 32; c++) if (c !== 9 && c !== 10) REFUSED[c] = 1;
for (let c = 127; c < 256; c++) REFUSED[c] = 1;
REFUSED[34] = 1;

/** Rows per call to the native scanner: its call costs about what one row does. */
const BLOCK_ROWS = 256;

interface NativeBlock {
  addon: CsvScanAddon;
  values: Float64Array;
  labels: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** The header line of a file read in chunks, found by plainHeaderLine. */
export interface PlainHeader {
  cells: string[];
  /** Its 1-based line number (blank lines before it counted). */
  line: number;
  /** Offset of the byte after its line break: where the data lines start. */
  next: number;
}

/**
 * The header as the byte scanner reads it (the first line that is not blank, split at commas),
 * when `buf` holds it whole with its line break: undefined while more bytes are needed, 'refused'
 * when the scanner would hand the file to csv-parse from its start (a quote, CR, BOM, non-ASCII,
 * a line over 1 MiB) or no complete line break is in sight.
 */
export function plainHeaderLine(buf: Buffer): PlainHeader | 'refused' | undefined {
  let line = 1;
  for (let pos = 0; ; line++) {
    const end = buf.indexOf(10, pos);
    if (end < 0) return buf.length - pos > MAX_FAST_LINE_BYTES ? 'refused' : undefined;
    if (end - pos > MAX_FAST_LINE_BYTES) return 'refused';
    let i = pos;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    if (i < end) {
      for (let j = pos; j < end; j++) if (REFUSED[buf[j] as number] === 1) return 'refused';
      return { cells: buf.toString('latin1', pos, end).split(','), line, next: end + 1 };
    }
    pos = end + 1;
  }
}

/**
 * The one CSV reader of extraction and scoring. Plain numeric CSV (the usual export: ASCII, LF
 * line ends, no quotes) is read by a byte scanner: fields are found and numbers parsed straight
 * from the Buffer, with no per-row objects and no string per cell on the happy path; a cell the
 * scanner cannot vouch for is parsed from its text by cells.ts, so values and errors are those
 * of the general path. From the first line the scanner cannot take (a quote, CR, non-ASCII,
 * a line over 1 MiB), the rest of the input goes to csv-parse, set up as it would have been had
 * it read the file from the start: the lines before were plain LF lines, which it reads exactly
 * as the scanner does, so rows, values, errors and row numbers are the same either way.
 */
export async function readCsvRows(options: CsvRowsOptions): Promise<CsvRowsResult> {
  const { file, stream } = options;
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const { resume } = options;
  const result: CsvRowsResult = { header: resume !== undefined, rows: 0, fastRows: 0 };
  try {
    if (options.parser === 'general') {
      await readGeneral(options, result, restOf(undefined, chunks), (resume?.line ?? 1) - 1, resume?.plan);
      return result;
    }
    const scan = new LineScanner(file, options.onHeader, options.onRow, resume?.plan, resume?.line);
    const counted = (rows: number) => {
      result.rows += rows;
      result.fastRows += rows;
      result.header = scan.plan !== undefined;
    };
    let carry: Buffer | undefined;
    for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      let chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      const lf = carry ? chunk.indexOf(10) : -1;
      if (carry && lf >= 0) {
        // Only the line cut between two reads is joined (the chunk itself is not copied).
        const joined = Buffer.concat([carry, chunk.subarray(0, lf + 1)]);
        const stopped = await scan.lines(joined, false);
        counted(scan.takeRows());
        if (stopped !== undefined) {
          const rest = Buffer.concat([joined.subarray(stopped), chunk.subarray(lf + 1)]);
          await readGeneral(options, result, restOf(rest, chunks), scan.line - 1, scan.plan);
          return result;
        }
        chunk = chunk.subarray(lf + 1);
        carry = undefined;
      }
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const stopped = await scan.lines(buf, false);
      counted(scan.takeRows());
      if (stopped !== undefined) {
        await readGeneral(options, result, restOf(buf.subarray(stopped), chunks), scan.line - 1, scan.plan);
        return result;
      }
      carry = scan.pos < buf.length ? buf.subarray(scan.pos) : undefined;
    }
    if (carry) {
      const stopped = await scan.lines(carry, true);
      counted(scan.takeRows());
      if (stopped !== undefined) {
        await readGeneral(options, result, restOf(carry.subarray(stopped), chunks), scan.line - 1, scan.plan);
      }
    }
    return result;
  } finally {
    // Stop reading the source too (a file descriptor, an HTTP response) when we stop early.
    stream.destroy();
  }
}

/** The bytes not yet read: `first`, then what is left of the source. */
async function* restOf(first: Buffer | undefined, chunks: AsyncIterator<Buffer | string>) {
  if (first && first.length > 0) yield first;
  for (;;) {
    const next = await chunks.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * The byte scanner: reads complete plain lines of a buffer, or says where it must stop. Used by
 * readCsvRows over a stream, and on its own over chunks of a file cut at line ends (the scoring
 * threads of scoreCsv), where `plan` and `line` say what the header asked for and where the
 * chunk starts.
 */
export class LineScanner {
  /** Where the next unread line of the last buffer starts. */
  pos = 0;
  /** Rows handed to onRow since the last takeRows(). */
  private rows = 0;
  /** For each field of a record, which feature value it is, or -1. */
  private slots = new Int32Array(0);
  private fieldStart = new Int32Array(0);
  private fieldEnd = new Int32Array(0);
  private values = new Float64Array(0);
  private readonly source: RowSource = { buffer: undefined, start: 0, end: 0, record: undefined, texts: [] };
  /** The native scanner and the rows of its last block, when it is built. */
  private block: NativeBlock | undefined;

  /**
   * @param plan what the header asked for, when it has been read; else the first non-blank
   *   line is the header, handed to `onHeader`.
   * @param line 1-based number of the first line of the first buffer.
   */
  constructor(
    private readonly file: string,
    private readonly onHeader: CsvRowsOptions['onHeader'] | undefined,
    private readonly onRow: CsvRowsOptions['onRow'],
    public plan: RowPlan | undefined = undefined,
    /** 1-based number of the line at `pos`. */
    public line = 1,
  ) {
    if (plan) this.usePlan(plan);
  }

  /** Rows read since the last call. */
  takeRows(): number {
    const rows = this.rows;
    this.rows = 0;
    return rows;
  }

  /**
   * Reads the complete lines of `buf` (and a last line without a line break when `atEnd`).
   * Returns the offset of the first line it cannot take, or undefined when it read them all;
   * `pos` is then where the incomplete rest starts.
   */
  async lines(buf: Buffer, atEnd: boolean): Promise<number | undefined> {
    this.pos = 0;
    for (;;) {
      if (this.block) {
        const done = this.blockRows(buf);
        if (done !== true) await done;
        // The block stops at a line it does not take (or at the buffer's end): read it below.
      }
      let end = buf.indexOf(10, this.pos);
      if (end < 0) {
        if (buf.length - this.pos > MAX_FAST_LINE_BYTES) return this.pos;
        if (!atEnd || this.pos === buf.length) return undefined;
        end = buf.length;
      }
      if (end - this.pos > MAX_FAST_LINE_BYTES) return this.pos;
      const taken = this.line1(buf, this.pos, end);
      if (taken === false) return this.pos;
      if (taken !== true) await taken;
      this.pos = Math.min(end + 1, buf.length);
      this.line++;
    }
  }

  /**
   * Lines from `pos` read by the native scanner (nativeCsvScan.ts), block after block, handed
   * out as line1 hands out its rows; stops at the first line it does not take. True when done, or
   * a promise when a consumer returned one (the rest of the block is handed out after it).
   */
  private blockRows(buf: Buffer): true | Promise<void> {
    const block = this.block as NativeBlock;
    const plan = this.plan as RowPlan;
    const target = plan.target ? plan.target.index : -1;
    for (;;) {
      const rows = block.addon.scanLines(
        buf,
        this.pos,
        plan.width,
        this.slots,
        target,
        block.values,
        block.labels,
        block.starts,
        block.ends,
      );
      for (let r = 0; r < rows; r++) {
        const pending = this.blockRow(buf, r);
        if (pending) return pending.then(() => this.restOfBlock(buf, r + 1, rows));
      }
      if (rows < block.labels.length) return true;
    }
  }

  /** Hands out rows `from` to `rows` of the current block, then reads on with blockRows. */
  private async restOfBlock(buf: Buffer, from: number, rows: number): Promise<void> {
    const block = this.block as NativeBlock;
    for (let r = from; r < rows; r++) {
      const pending = this.blockRow(buf, r);
      if (pending) await pending;
    }
    if (rows === block.labels.length) {
      const more = this.blockRows(buf);
      if (more !== true) await more;
    }
  }

  /** Row `r` of the native block to the consumer, and the position after its line. */
  private blockRow(buf: Buffer, r: number): void | Promise<void> {
    const block = this.block as NativeBlock;
    const { values } = this;
    const nF = values.length;
    const base = r * nF;
    for (let j = 0; j < nF; j++) values[j] = block.values[base + j] as number;
    const end = block.ends[r] as number;
    const pending = this.emit(buf, block.starts[r] as number, end, block.labels[r] as 0 | 1);
    this.line++;
    this.pos = end + 1;
    return pending;
  }

  /** The row in `values`, with its label and its line's bounds, to the consumer. */
  private emit(buf: Buffer, start: number, end: number, label: 0 | 1): void | Promise<void> {
    this.rows++;
    const source = this.source;
    source.buffer = buf;
    source.start = start;
    source.end = end;
    const text = this.plan?.text;
    if (text) {
      // Plain lines are ASCII (the scanner refuses other bytes), so latin1 is the text.
      for (let t = 0; t < text.length; t++) {
        const field = text[t] as { index: number; name: string };
        source.texts[t] = parseCategoryCell(
          buf.toString(
            'latin1',
            this.fieldStart[field.index] as number,
            this.fieldEnd[field.index] as number,
          ),
          { file: this.file, row: this.line, column: field.name },
        );
      }
    }
    return this.onRow(this.values, label, this.line, source);
  }

  /** One line: false if it is not plain, else true or the consumer's promise. */
  private line1(buf: Buffer, start: number, end: number): boolean | Promise<void> {
    // An empty line, or one of spaces: csv-parse skips the first, the readers the second.
    if (start === end) return true;
    const first = buf[start] as number;
    if (first === 32 || first === 9) {
      let i = start;
      while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
      if (i === end) return true;
    }
    const plan = this.plan;
    if (!plan) {
      for (let i = start; i < end; i++) if (REFUSED[buf[i] as number] === 1) return false;
      if (!this.onHeader) throw new Error('LineScanner: a header line, and no onHeader to hand it to');
      this.usePlan(this.onHeader(buf.toString('latin1', start, end).split(','), this.line));
      return true;
    }
    if (this.quickLine(buf, start, end, plan.width)) return this.handOut(plan, buf, start, end);
    // One pass over the line: fields are delimited, and feature fields read as numbers on the
    // way (scanDecimal); a field that is not a plain number gets NaN and is read from its text
    // below, once the field count is known to be right (a ragged row is reported first).
    const { width } = plan;
    const slots = this.slots;
    const starts = this.fieldStart;
    const ends = this.fieldEnd;
    const values = this.values;
    let fields = 0;
    let i = start;
    for (;;) {
      const fieldAt = i;
      const slot = fields < width ? (slots[fields] as number) : -1;
      if (slot >= 0) {
        let value = scanDecimal(buf, i, end);
        i = scanned.end;
        if (i < end && buf[i] !== 44) {
          value = Number.NaN;
          for (; i < end; i++) {
            const c = buf[i] as number;
            if (c === 44) break;
            if (REFUSED[c] === 1) return false;
          }
        }
        values[slot] = value;
      } else {
        for (; i < end; i++) {
          const c = buf[i] as number;
          if (c === 44) break;
          if (REFUSED[c] === 1) return false;
        }
      }
      if (fields < width) {
        starts[fields] = fieldAt;
        ends[fields] = i;
      }
      fields++;
      if (i >= end) break;
      i++;
    }
    const row = this.line;
    const { file } = this;
    if (fields !== width) throw raggedRow(file, row, fields, width);
    const { featureIndex, features } = plan;
    for (let j = 0; j < featureIndex.length; j++) {
      if (values[j] === values[j]) continue;
      const k = featureIndex[j] as number;
      values[j] = parseFeatureCell(buf.toString('latin1', starts[k] as number, ends[k] as number), {
        file,
        row,
        column: features[j] as string,
      });
    }
    return this.handOut(plan, buf, start, end);
  }

  /**
   * The common line read in one tight pass: every field is a feature made of an optional minus,
   * digits and an optional point with digits (no spaces, exponent or sign "+"), or a 0/1 label,
   * or a field that is not read, with no byte the scanner refuses. Fills `values` (and the field
   * bounds) exactly as line1's general pass would, and says false for any other line, which
   * line1 then reads from the start the general way: this only skips work, never decides.
   */
  private quickLine(buf: Buffer, start: number, end: number, width: number): boolean {
    const slots = this.slots;
    const starts = this.fieldStart;
    const ends = this.fieldEnd;
    const values = this.values;
    let i = start;
    for (let field = 0; field < width; field++) {
      starts[field] = i;
      const slot = slots[field] as number;
      if (slot >= 0) {
        let negative = false;
        if (buf[i] === 45) {
          negative = true;
          i++;
        }
        let mantissa = 0;
        let digits = 0;
        let c = 0;
        for (; i < end; i++) {
          c = (buf[i] as number) - 48;
          if (c < 0 || c > 9) break;
          mantissa = mantissa * 10 + c;
          digits++;
        }
        let exponent = 0;
        if (i < end && buf[i] === 46) {
          for (i++; i < end; i++) {
            c = (buf[i] as number) - 48;
            if (c < 0 || c > 9) break;
            mantissa = mantissa * 10 + c;
            exponent++;
          }
          digits += exponent;
        }
        // Anything else after the number, 2^53 or more, or no digits: the general pass decides.
        if (digits === 0 || mantissa > MAX_EXACT || exponent > 22) return false;
        if (i < end && buf[i] !== 44) return false;
        const value = exponent === 0 ? mantissa : mantissa / (POW10[exponent] as number);
        values[slot] = negative ? -value : value;
      } else {
        for (; i < end; i++) {
          const c = buf[i] as number;
          if (c === 44) break;
          if (REFUSED[c] === 1) return false;
        }
      }
      ends[field] = i;
      // The last field ends the line; any other is followed by a comma.
      if (field === width - 1) return i === end;
      if (i >= end) return false;
      i++;
    }
    return false;
  }

  /** The row read into `values` and the field bounds, with its label, to the consumer. */
  private handOut(plan: RowPlan, buf: Buffer, start: number, end: number): boolean | Promise<void> {
    const { target } = plan;
    let label: 0 | 1 = 0;
    if (target) {
      label = labelBytes(
        buf,
        this.fieldStart[target.index] as number,
        this.fieldEnd[target.index] as number,
        {
          file: this.file,
          row: this.line,
          column: target.name,
        },
      );
    }
    return this.emit(buf, start, end, label) ?? true;
  }

  private usePlan(plan: RowPlan): void {
    this.plan = plan;
    this.slots = new Int32Array(plan.width).fill(-1);
    plan.featureIndex.forEach((k, j) => {
      this.slots[k] = j;
    });
    this.fieldStart = new Int32Array(plan.width);
    this.fieldEnd = new Int32Array(plan.width);
    this.values = new Float64Array(plan.featureIndex.length);
    // The native scanner hands out numbers only, not the bounds of text fields.
    const addon = plan.text?.length ? undefined : nativeCsvScan();
    this.block = addon && {
      addon,
      values: new Float64Array(BLOCK_ROWS * plan.featureIndex.length),
      labels: new Uint8Array(BLOCK_ROWS),
      starts: new Int32Array(BLOCK_ROWS),
      ends: new Int32Array(BLOCK_ROWS),
    };
  }
}

/** A label cell: "0" and "1" from the bytes, anything else as cells.ts reads it. */
function labelBytes(buf: Buffer, start: number, end: number, place: CellPlace): 0 | 1 {
  let a = start;
  let b = end;
  while (a < b && (buf[a] === 32 || buf[a] === 9)) a++;
  while (b > a && (buf[b - 1] === 32 || buf[b - 1] === 9)) b--;
  if (b - a === 1 && (buf[a] === 48 || buf[a] === 49)) return buf[a] === 49 ? 1 : 0;
  return parseLabelCell(buf.toString('latin1', start, end), place);
}

export function raggedRow(file: string, row: number, fields: number, width: number) {
  return datasetError(
    'RaggedRow',
    `${where(file, row)}: ${fields} field${fields === 1 ? '' : 's'} where the header has ` +
      `${width}. Check for an unquoted comma, a missing value or a cut-off line.`,
    { file, row },
  );
}

interface Entry {
  record: string[];
  row: number;
}

/**
 * csv-parse over `bytes`, the input from line `lineOffset + 1` on. From the start of the input
 * it strips a BOM and detects the line ends; after plain lines it takes LF line ends and no BOM,
 * as it would have decided on the first of those lines had it read them.
 */
async function readGeneral(
  options: CsvRowsOptions,
  result: CsvRowsResult,
  bytes: AsyncIterable<Buffer | string>,
  lineOffset: number,
  headerPlan: RowPlan | undefined,
): Promise<void> {
  const { file } = options;
  const fromStart = lineOffset === 0;
  // Line where the next record starts: after the previous record's last line and any blank lines.
  const at = { lastLine: lineOffset, lastEmpty: 0 };
  const parserOptions: ParseOptions = {
    bom: fromStart,
    ...(fromStart ? {} : { record_delimiter: '\n' }),
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
    // Runs as the parser reads, so `at` is current when the parser fails.
    on_record: (record: string[], info: { lines: number; empty_lines: number }) => {
      const row = at.lastLine + 1 + (info.empty_lines - at.lastEmpty);
      at.lastLine = lineOffset + info.lines;
      at.lastEmpty = info.empty_lines;
      return { record, row } as unknown as string[];
    },
  } as ParseOptions;
  const source = Readable.from(bytes, { objectMode: false });
  // Loaded when first needed: the scoring threads, which only run the byte scanner, never load it.
  const { parse } = require('csv-parse') as typeof import('csv-parse');
  const parser = parse(parserOptions);
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let plan = headerPlan;
  const rowSource: RowSource = { buffer: undefined, start: 0, end: 0, record: undefined, texts: [] };
  let values = new Float64Array(plan?.featureIndex.length ?? 0);
  try {
    for await (const { record, row } of parser as AsyncIterable<Entry>) {
      // A line of spaces is as blank as an empty one (skip_empty_lines only skips truly empty lines).
      if (record.length === 1 && (record[0] as string).trim() === '') continue;
      if (!plan) {
        plan = options.onHeader(record, row);
        result.header = true;
        values = new Float64Array(plan.featureIndex.length);
        continue;
      }
      if (record.length !== plan.width) throw raggedRow(file, row, record.length, plan.width);
      const { featureIndex, features, target } = plan;
      for (let j = 0; j < featureIndex.length; j++) {
        values[j] = parseFeatureCell(record[featureIndex[j] as number] as string, {
          file,
          row,
          column: features[j] as string,
        });
      }
      const label = target
        ? parseLabelCell(record[target.index] as string, { file, row, column: target.name })
        : 0;
      plan.text?.forEach((field, t) => {
        rowSource.texts[t] = parseCategoryCell(record[field.index] as string, {
          file,
          row,
          column: field.name,
        });
      });
      result.rows++;
      rowSource.record = record;
      const pending = options.onRow(values, label, row, rowSource);
      if (pending) await pending;
    }
  } catch (err) {
    const blank = (err as { empty_lines?: number }).empty_lines ?? at.lastEmpty;
    throw asMalformedCsv(err, file, at.lastLine + 1 + (blank - at.lastEmpty)) ?? err;
  } finally {
    parser.destroy();
    source.destroy();
  }
}

/** csv-parse's own errors (CSV_*) as a MalformedCsv naming the line the bad record starts on. */
export function asMalformedCsv(err: unknown, file: string, startLine: number) {
  const code = (err as Partial<CsvError>)?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !code.startsWith('CSV_')) return undefined;
  const hint =
    code === 'CSV_MAX_RECORD_SIZE'
      ? `a record is longer than ${MAX_RECORD_BYTES} bytes, usually because a quote is never closed`
      : // csv-parse counts lines its own way; the row above is the one an editor shows.
        err.message.replace(/ at line \d+/g, '').replace(/\.$/, '');
  return datasetError(
    'MalformedCsv',
    `${where(file, startLine)}: the record starting here cannot be parsed: ${hint}. Fix the quoting on that line ` +
      '(a field containing commas, quotes or line breaks must be wrapped in double quotes, with inner quotes doubled).',
    { file, row: startLine },
  );
}
