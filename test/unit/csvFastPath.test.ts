import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readValidatedCsv } from '../../domain/data/csvReader';
import type { CsvParserChoice } from '../../domain/data/csvRows';
import { extractDataset } from '../../domain/data/extract';
import { CSV_SCAN_ADDON_PATH, nativeCsvScan } from '../../domain/data/nativeCsvScan';
import { parseDecimalBytes } from '../../domain/data/numberBytes';
import { buildModel } from '../../domain/ml/modelBuilder';
import { modelSpecSchema } from '../../domain/ml/modelSpec';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { mulberry32 } from '../../domain/random';
import { scoreCsv } from '../../domain/scoring/scoreCsv';
import { LocalArtifactStore } from '../../domain/storage/localStore';

/**
 * The byte scanner (domain/data/csvRows.ts) against csv-parse, the general path: the same bytes
 * through both must give the same apply output byte for byte, the same snapshot, the same values
 * (as float64) and the same errors, word for word, row and column included.
 */

const FIXTURES = resolve(__dirname, '../fixtures/csv');
const spec = modelSpecSchema.parse({
  layers: [
    { type: 'dense', units: 4, activation: 'relu' },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
});

let dir: string;
const models = new Map<number, Uint8Array>();

/** An untrained network over `n` features (seeded weights, identity-ish scaler): real ONNX. */
function onnxFor(features: string[]): Uint8Array {
  const n = features.length;
  const known = models.get(n);
  if (known) return known;
  const x = new Float32Array(4 * n).map((_, i) => (i % 3) - 1 + i / 10);
  const model = buildModel(spec, n);
  try {
    const onnx = exportToOnnx({
      model,
      spec,
      scaler: fitStandardScaler(x, 4, n, features),
      threshold: 0.5,
      metadata: {
        modelName: 'fast-path',
        features,
        target: 'Class',
        producerVersion: '0.0.0',
        datasetSha256: '0'.repeat(64),
        runId: 'test',
      },
    });
    models.set(n, onnx);
    return onnx;
  } finally {
    model.dispose();
  }
}

type Outcome = { ok: string } | { error: { name: string; message: string; details: unknown } };

async function outcome(work: () => Promise<string>): Promise<Outcome> {
  try {
    return { ok: await work() };
  } catch (err) {
    const e = err as Error & { details?: unknown };
    return { error: { name: e.name, message: e.message, details: e.details } };
  }
}

/** Chunks of random sizes (1 byte to 5 KiB), so lines, numbers and CRLFs split anywhere. */
function chunked(bytes: Buffer, seed: number): Readable {
  const random = mulberry32(seed);
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() ** 3 * 5000);
    parts.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(parts, { objectMode: false });
}

/** Rows the chunk threads scored in the last applyOutcome that succeeded. */
let lastChunkedRows = 0;

/**
 * apply's output for `bytes` (through a file, or a chunked stream), or its error. With
 * `chunkBytes`, a file of more than one chunk is scored in chunks that small by two threads (a
 * chunk holds one line or a few, so refused lines and errors fall in any chunk); without, on
 * the calling thread.
 */
async function applyOutcome(
  bytes: Buffer,
  features: string[],
  parser: CsvParserChoice,
  via: 'file' | number,
  chunkBytes?: number,
): Promise<Outcome> {
  return outcome(async () => {
    const written: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        written.push(chunk);
        done();
      },
    });
    const path = join(dir, 'in.csv');
    if (via === 'file') await writeFile(path, bytes);
    const result = await scoreCsv({
      input: via === 'file' ? path : chunked(bytes, via),
      inputName: via === 'file' ? undefined : path,
      output: sink,
      onnx: onnxFor(features),
      features,
      target: 'Class',
      threshold: 0.5,
      // Fixtures and generated files fit one batch (the main-thread scorer); the quoted file does not.
      batchRows: 80,
      parser,
      chunkThreads: chunkBytes === undefined ? 0 : 2,
      chunkBytes,
    });
    lastChunkedRows = result.chunkedRows;
    return Buffer.concat(written).toString('latin1');
  });
}

/** Every row readValidatedCsv hands out, values as exact float64 bit patterns. */
async function readOutcome(bytes: Buffer, parser: CsvParserChoice, via: 'file' | number): Promise<Outcome> {
  return outcome(async () => {
    const rows: string[] = [];
    const read = await readValidatedCsv({
      stream: via === 'file' ? Readable.from([bytes]) : chunked(bytes, via),
      file: 'data.csv',
      target: 'Class',
      parser,
      onRow(values, label, row) {
        const bits = Array.from(new BigUint64Array(new Float64Array(values).buffer), (b) => b.toString(16));
        rows.push(`${row}:${bits.join(' ')}:${label}`);
      },
    });
    return JSON.stringify({ rows, layout: read.layout, counts: read.classCounts });
  });
}

/** The features apply is asked for: the first line's names but Class (a guess is fine: errors must match too). */
function featuresOf(bytes: Buffer): string[] {
  const first =
    bytes
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)[0] ?? '';
  const names = [...new Set(first.split(',').map((c) => c.replace(/"/g, '').trim()))].filter(
    (c) => c !== '' && c !== 'Class',
  );
  return names.length > 0 ? names : ['a'];
}

async function fixtureFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const kind of ['good', 'bad']) {
    for (const name of (await readdir(join(FIXTURES, kind))).sort()) files.push(join(FIXTURES, kind, name));
  }
  return files;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-fast-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseDecimalBytes', () => {
  const read = (text: string) => parseDecimalBytes(Buffer.from(text, 'latin1'), 0, text.length);

  it('gives exactly Number() for what it takes, and NaN (not handled) for the rest', () => {
    const taken = [
      '0',
      '-0',
      '+0',
      '1',
      '-1',
      '+7',
      '.5',
      '5.',
      '-.25',
      '1.5e3',
      '1E-5',
      '2e+10',
      '  3.25\t',
      '0.000001',
      '-1.359807',
      '149.62',
      '999999999999999',
      '123456789012345e-22',
      '1234567890123456',
      '9007199254740991',
      '1e22',
      '0001.2500',
      '1.e5',
    ];
    for (const text of taken) expect(Object.is(read(text), Number(text)), text).toBe(true);
    const refused = [
      '',
      ' ',
      '.',
      '+',
      '-',
      'e5',
      '1e',
      '1e+',
      '0x1F',
      '0b1',
      'Infinity',
      'NaN',
      'nan',
      '1,5',
      '12abc',
      '1..2',
      '1e5.5',
      '12345678901234567',
      '9007199254740993',
      '1e23',
      '1e-23',
      '1e99999',
      '--1',
      '1 2',
    ];
    for (const text of refused) expect(read(text), text).toBeNaN();
  });

  it('agrees with Number() on a million random decimal spellings', () => {
    const random = mulberry32(5);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    let taken = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const sign = ['', '-', '+'][Math.floor(random() * 3)];
      const int = digits(Math.floor(random() * 9));
      const frac = random() < 0.7 ? `.${digits(Math.floor(random() * 12))}` : '';
      const exp =
        random() < 0.3
          ? `e${['', '-', '+'][Math.floor(random() * 3)]}${digits(1 + Math.floor(random() * 2))}`
          : '';
      const text = `${sign}${int}${frac}${exp}`;
      const value = read(text);
      if (Number.isNaN(value)) continue;
      taken++;
      if (!Object.is(value, Number(text))) expect.fail(`${text}: ${value} !== ${Number(text)}`);
    }
    expect(taken).toBeGreaterThan(500_000);
  });
});

describe('the native scanner (native/csv-scan)', () => {
  it('is built by the install and loads', () => {
    expect(
      existsSync(CSV_SCAN_ADDON_PATH),
      `${CSV_SCAN_ADDON_PATH} is missing: run \`npm run build:native\` (native/csv-scan/build.log says why it failed)`,
    ).toBe(true);
    expect(nativeCsvScan()).toBeDefined();
  });
});

// Both loops of the byte scanner: the native one (the default where it is built) and the
// JavaScript one (SLIPWAY_CSV_SCAN=off, or no C compiler at install). Scoring threads started in
// a block inherit its setting.
describe.each([
  ['native C loop', 'auto'],
  ['JavaScript loop', 'off'],
])('fast path (%s) = general path', (_loop, setting) => {
  let before: string | undefined;
  beforeAll(() => {
    before = process.env.SLIPWAY_CSV_SCAN;
    process.env.SLIPWAY_CSV_SCAN = setting;
  });
  afterAll(() => {
    if (before === undefined) delete process.env.SLIPWAY_CSV_SCAN;
    else process.env.SLIPWAY_CSV_SCAN = before;
  });

  it('reads random decimal spellings as csv-parse and Number() do, in every field position', async () => {
    const random = mulberry32(setting === 'auto' ? 7 : 8);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    const cell = () => {
      const sign = ['', '-', '+'][Math.floor(random() * 3)] as string;
      let int = digits(Math.floor(random() * 12));
      const frac = random() < 0.7 ? `.${digits(Math.floor(random() * 14))}` : '';
      if (int === '' && frac.length < 2) int = '0';
      const exp = random() < 0.1 ? `e${['', '-'][Math.floor(random() * 2)]}${digits(1)}` : '';
      // Mostly cells the scanner takes; a sign '+' or an exponent it hands to cells.ts.
      return `${sign}${int}${frac}${exp}`;
    };
    const lines = ['a,b,c,Class'];
    for (let i = 0; i < 20_000; i++) lines.push(`${cell()},${cell()},${cell()},${i % 2}`);
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const general = await readOutcome(bytes, 'general', 'file');
    expect(general, JSON.stringify(general).slice(0, 400)).toHaveProperty('ok');
    expect(await readOutcome(bytes, 'auto', 'file')).toEqual(general);
    expect(await readOutcome(bytes, 'auto', 5)).toEqual(general);
  });

  it('apply gives the same bytes (or the same error) on every fixture file, from a file and from a split stream', async () => {
    for (const path of await fixtureFiles()) {
      const bytes = await readFile(path);
      const features = featuresOf(bytes);
      const general = await applyOutcome(bytes, features, 'general', 'file');
      expect(await applyOutcome(bytes, features, 'auto', 'file'), path).toEqual(general);
      const generalStream = await applyOutcome(bytes, features, 'general', 11);
      expect(await applyOutcome(bytes, features, 'auto', 11), path).toEqual(generalStream);
      expect(await applyOutcome(bytes, features, 'auto', 'file', 8), path).toEqual(general);
    }
  }, 120_000);

  it('reading gives the same float64 values, labels, rows and errors on every fixture file', async () => {
    for (const path of await fixtureFiles()) {
      const bytes = await readFile(path);
      const general = await readOutcome(bytes, 'general', 'file');
      expect(await readOutcome(bytes, 'auto', 'file'), path).toEqual(general);
      expect(await readOutcome(bytes, 'auto', 3), path).toEqual(general);
    }
  });

  /** A plain numeric CSV, then trouble from line `at` on (or none). */
  function generated(seed: number, trouble: string | undefined, at: number, rows = 60): Buffer {
    const random = mulberry32(seed);
    const cell = () => {
      const r = random();
      if (r < 0.1) return String(Math.round(random() * 1000));
      if (r < 0.2) return (random() * 2 - 1).toExponential(Math.floor(random() * 8));
      if (r < 0.25) return String(random() * 1e-3); // 16-17 digits: the text fallback
      if (r < 0.3) return ` ${(random() * 10).toFixed(3)}\t`;
      if (r < 0.33) return `.${Math.floor(random() * 100)}`;
      if (r < 0.36) return `+${Math.floor(random() * 100)}.`;
      return (random() * 20 - 10).toFixed(6);
    };
    const lines = ['id,a,b,c,Class'];
    for (let i = 0; i < rows; i++) {
      let line = `tx-${i},${cell()},${cell()},${cell()},${i % 3 === 0 ? 1 : 0}`;
      if (trouble !== undefined && i + 2 === at) line = trouble.replace('{i}', String(i));
      lines.push(line);
      if (random() < 0.05) lines.push(random() < 0.5 ? '' : '   ');
    }
    // Latin-1 keeps a \xff a single invalid byte; UTF-8 otherwise.
    const encoding = trouble?.includes('\xff') ? 'latin1' : 'utf8';
    return Buffer.from(`${lines.join('\n')}${seed % 2 === 0 ? '\n' : ''}`, encoding);
  }

  const troubles: Array<[string, string | undefined]> = [
    ['plain throughout', undefined],
    ['quoted fields', 'tx-{i},"1.5","2",3,"0"'],
    ['a quoted comma in a pass-through column', '"tx, {i}",1,2,3,1'],
    ['a quoted field spanning lines', '"tx\n{i}",1,2,3,1'],
    ['a doubled quote', '"say ""hi""",1,2,3,0'],
    ['CRLF from here on', 'tx-{i},1,2,3,0\r\ntx-b,4,5,6,1\r'],
    ['non-ASCII text', 'tx-é{i},1,2,3,0'],
    ['invalid UTF-8', 'tx-\xff{i},1,2,3,0'],
    ['a BOM mid-file', '\uFEFFtx-{i},1,2,3,0'],
    ['a form feed', 'tx-{i},1,2\f,3,0'],
    ['an unclosed quote', 'tx-{i},"1,2,3,0'],
    ['text in a number', 'tx-{i},1,abc,3,0'],
    ['hexadecimal', 'tx-{i},0x1F,2,3,0'],
    ['a missing-value marker', 'tx-{i},1,NA,3,0'],
    ['an empty cell', 'tx-{i},1,,3,0'],
    ['NaN', 'tx-{i},nan,2,3,0'],
    ['a number float32 cannot hold', 'tx-{i},1e39,2,3,0'],
    ['a number float64 cannot hold', 'tx-{i},1e999,2,3,0'],
    ['a ragged row', 'tx-{i},1,2,3'],
    ['a target of 2', 'tx-{i},1,2,3,2'],
    ['a target of true', 'tx-{i},1,2,3,TRUE'],
    ['two bad cells (the first in feature order is named)', 'tx-{i},x,y,3,z'],
  ];

  it.each(troubles)(
    'apply (whole and in chunks) and reading agree on a generated file with %s',
    async (_name, trouble) => {
      for (const [seed, at] of [
        [1, 2],
        [2, 30],
        [3, 61],
      ] as const) {
        const bytes = generated(seed, trouble, at);
        const features = ['a', 'b', 'c'];
        const general = await applyOutcome(bytes, features, 'general', 'file');
        if (trouble === undefined) expect(general).toHaveProperty('ok');
        expect(await applyOutcome(bytes, features, 'auto', 'file')).toEqual(general);
        expect(await applyOutcome(bytes, features, 'auto', seed)).toEqual(general);
        // In chunks of about three lines (read 128 bytes at a time, so lines are cut between reads):
        // the trouble falls in the first, a middle or the last chunk.
        expect(await applyOutcome(bytes, features, 'auto', 'file', 128)).toEqual(general);
        if (trouble === undefined) expect(lastChunkedRows).toBe(60);
        // Trouble mid-file that is not an error: the chunks before it were scored by the threads.
        else if (at === 30 && 'ok' in general) expect(lastChunkedRows).toBeGreaterThan(0);
        const read = await readOutcome(bytes, 'general', 'file');
        expect(await readOutcome(bytes, 'auto', 'file')).toEqual(read);
        expect(await readOutcome(bytes, 'auto', seed + 10)).toEqual(read);
      }
    },
  );

  it('a file that is quoted throughout: same apply output through either path', async () => {
    const lines = ['"id","a","b","note","Class"'];
    for (let i = 0; i < 500; i++)
      lines.push(`"r${i}","${i / 7}","${-i}","a, ""quoted"" note ${i}","${i % 2}"`);
    const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`);
    const general = await applyOutcome(bytes, ['a', 'b'], 'general', 'file');
    expect(general).toHaveProperty('ok');
    expect(await applyOutcome(bytes, ['a', 'b'], 'auto', 'file')).toEqual(general);
  });

  // A third of the reference size for the default loop (several native blocks and chunk edges), a
  // sixth for the fallback: every line is compared either way, and CI's half hour is shared.
  const rows = setting === 'auto' ? 100_000 : 50_000;
  it(`extraction of ${rows} rows of the reference data gives the same snapshot bytes through either path`, async () => {
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const extract = (parser: CsvParserChoice) =>
      extractDataset({
        source: `synthetic:fraud?rows=${rows}&seed=42`,
        store,
        workDir: join(dir, 'work'),
        parser,
      });
    const fast = await extract('auto');
    const general = await extract('general');
    expect(fast.snapshot.sha256).toBe(general.snapshot.sha256);
    expect(fast.summaryDoc).toEqual(general.summaryDoc);
    expect(fast.summaryDoc.rows).toBe(rows);
  }, 300_000);
});
