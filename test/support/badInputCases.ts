/**
 * The bad-input matrix (issue 9): every way a person can hand Slipway something wrong, the entry
 * point they would use, and what the answer must say. test/integration/badInput.test.ts runs each
 * row against the real services; docs/bad-input-matrix.md is rendered from this table
 * (`npm run docs:bad-input`), and test/unit/badInputDoc.test.ts fails when the two disagree.
 *
 * This file is data plus small input builders: no Temporal, no assertions, so the doc renderer
 * can import it without starting anything.
 */

export type BadInputArea =
  | 'CSV file'
  | 'configuration'
  | 'CLI arguments'
  | 'workflow input'
  | 'approval'
  | 'apply input'
  | 'drift input';

/** What the test's setup provides to build each case's input. */
export interface BadInputContext {
  /** Scratch folder for the files cases generate. */
  dir: string;
  /** Path of test/fixtures/csv/bad/<name>. */
  fixture(name: string): string;
  /** Writes `text` to <dir>/<name> and returns the path. */
  write(name: string, text: string): Promise<string>;
  /** A model with production = v1, trained in the setup. */
  model: string;
  /** 20 rows with that model's features and target (the synthetic fraud columns), header first. */
  scoringCsv: string;
  /** v1's ONNX file, as a person would hand it over for `import onnx`. */
  onnxFile: string;
  /**
   * Runs of `model` with a review, started by carol, approvers alice, bob and carol (so carol's own
   * approval meets the four-eyes rule, not the allow-list).
   */
  runs: {
    /** Still waiting for a decision. */
    waiting: string;
    /** Approved by alice; finished. */
    decided: string;
    /** Nobody answered within its 1 s deadline; finished. */
    timedOut: string;
  };
  /** The test MinIO: endpoint and a bucket that exists. */
  s3: { endpoint: string; bucket: string };
  /** A path under `dir` that does not exist. */
  missing(name: string): string;
  /**
   * Task queues of workers configured differently from the rest (limits and credentials are the
   * worker's): SLIPWAY_MAX_SOURCE_BYTES=64, and a wrong SLIPWAY_S3_SECRET_KEY.
   */
  queues: { smallLimit: string; wrongSecret: string };
}

/** Through `bin/slipway` in a child process, with the test world's environment plus `env`. */
export interface CliRun {
  kind: 'cli';
  /** SLIPWAY_USER of the child (default "dana", who is nobody special). */
  user?: string;
  /** Variables to set on top of the test world's. */
  env?(ctx: BadInputContext): Record<string, string>;
  args(ctx: BadInputContext): string[] | Promise<string[]>;
  /** A file the command was asked to write, which must not exist afterwards. */
  output?(ctx: BadInputContext): string;
}

/** Started with the Temporal client, as anyone with access to the server can, bypassing the CLI. */
export interface WorkflowRun {
  kind: 'workflow';
  workflowType: 'trainToDeploy';
  input(ctx: BadInputContext): unknown;
}

export interface BadInputCase {
  /** Stable, unique, kebab-case. */
  id: string;
  area: BadInputArea;
  /** What is wrong, in a few words. */
  input: string;
  /** The command or call as a person makes it (documentation only; `run` is what the test does). */
  entry: string;
  run: CliRun | WorkflowRun;
  /** Every fragment must appear in the message: the problem, and where (file, row, column) for data. */
  problem: string[];
  /** The part of the message that says what to do. */
  hint: string;
  /**
   * The workflow the input reaches and the activity that refuses it; that activity must run exactly
   * once (no retries) and the workflow must fail. Absent: refused before any workflow starts (or,
   * for an approval, refused by the update validator of an existing run: no new workflow).
   */
  reaches?: { workflow: string; activity?: string };
  /** `warned`: accepted, with a warning that says what to do (the message is on stdout). */
  outcome?: 'refused' | 'warned';
}

const csvCase = (
  id: string,
  input: string,
  file: (ctx: BadInputContext) => string | Promise<string>,
  entryFile: string,
  problem: string[],
  hint: string,
  extra: Partial<BadInputCase> = {},
): BadInputCase => ({
  id,
  area: 'CSV file',
  input,
  entry: `slipway extract ${entryFile} --target Class`,
  run: { kind: 'cli', args: async (ctx) => ['extract', await file(ctx), '--target', 'Class'] },
  problem,
  hint,
  reaches: { workflow: 'extractDatasetWorkflow', activity: 'extractDataset' },
  ...extra,
});

const fixture = (name: string) => (ctx: BadInputContext) => ctx.fixture(name);

/** A header of `n` columns (the last is Class) and three data rows. */
function wideCsv(n: number): string {
  const header = [...Array.from({ length: n - 1 }, (_, i) => `f${i}`), 'Class'].join(',');
  const row = (label: number) => [...Array.from({ length: n - 1 }, () => '1'), label].join(',');
  return `${header}\n${row(0)}\n${row(1)}\n${row(0)}\n`;
}

/** `n` rows, each with an account of its own (acct-1 ... acct-n), an amount and a 0/1 label. */
function accountsCsv(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => `acct-${i + 1},${(i % 97) + 0.5},${i % 2}`);
  return `account,amount,Class\n${rows.join('\n')}\n`;
}

/** The scoring CSV with one column removed (by name) from the header and every row. */
async function withoutColumn(ctx: BadInputContext, column: string, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile(ctx.scoringCsv, 'utf8')).trimEnd().split('\n');
  const index = (lines[0] as string).split(',').indexOf(column);
  const cut = lines.map((l) =>
    l
      .split(',')
      .filter((_, i) => i !== index)
      .join(','),
  );
  return ctx.write(name, `${cut.join('\n')}\n`);
}

/** The scoring CSV with the cell at data row `row` (1 = first data row), column `column` replaced. */
async function withCell(ctx: BadInputContext, row: number, column: string, value: string, name: string) {
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile(ctx.scoringCsv, 'utf8')).trimEnd().split('\n');
  const index = (lines[0] as string).split(',').indexOf(column);
  const cells = (lines[row] as string).split(',');
  cells[index] = value;
  lines[row] = cells.join(',');
  return ctx.write(name, `${lines.join('\n')}\n`);
}

const runArgs = (ctx: BadInputContext, ...extra: string[]) => [
  'run',
  '--source',
  'synthetic:fraud?rows=4000&seed=3',
  '--model',
  ctx.model,
  '--epochs',
  '1',
  ...extra,
];

const applyArgs = (ctx: BadInputContext, ref: string, input: string) => [
  'apply',
  ref,
  '--input',
  input,
  '--output',
  `${ctx.dir}/scored-${ref.replace(/[^a-z0-9]/g, '_')}.csv`,
];

export const badInputCases: BadInputCase[] = [
  // CSV files: extraction reads every cell; the first bad one stops it with file, row and column.
  csvCase(
    'csv-wrong-delimiter',
    'semicolon-separated file',
    fixture('semicolon.csv'),
    'semicolon.csv',
    ['WrongDelimiter', 'semicolon.csv, row 1', '";"-separated'],
    'export the file with commas as separators',
  ),
  csvCase(
    'csv-duplicate-header',
    'two columns named "a"',
    fixture('duplicate-header.csv'),
    'duplicate-header.csv',
    ['DuplicateColumn', 'duplicate-header.csv, row 1, column "a"', 'appears twice (columns 1 and 3)'],
    'Rename one of them',
  ),
  csvCase(
    'csv-missing-target',
    'no "Class" column',
    fixture('missing-target.csv'),
    'missing-target.csv',
    [
      'MissingTargetColumn',
      'missing-target.csv, row 1',
      'no target column "Class"',
      'Columns found: a, b, Label',
    ],
    'Name the 0/1 label column with --target',
  ),
  csvCase(
    'csv-text-in-number',
    '"abc" in a feature column',
    fixture('text-in-numeric.csv'),
    'text-in-numeric.csv',
    ['NonNumericValue', 'text-in-numeric.csv, row 3, column "b"', '"abc" is not a number'],
    'name a text column with --categorical (anomaly runs), or leave it out',
  ),
  csvCase(
    'csv-nan',
    'NaN in a feature column',
    fixture('nan.csv'),
    'nan.csv',
    ['NonFiniteValue', 'nan.csv, row 3, column "a"', '"NaN" is not a finite number'],
    'Replace NaN and infinite values',
  ),
  csvCase(
    'csv-inf',
    'Inf in a feature column',
    fixture('inf.csv'),
    'inf.csv',
    ['NonFiniteValue', 'inf.csv, row 2, column "b"', '"Inf" is not a finite number'],
    'Replace NaN and infinite values',
  ),
  csvCase(
    'csv-empty-file',
    '0 bytes',
    fixture('empty.csv'),
    'empty.csv',
    ['EmptyFile', 'empty.csv is empty'],
    'Check that the export finished',
  ),
  csvCase(
    'csv-header-only',
    'a header and no rows',
    fixture('header-only.csv'),
    'header-only.csv',
    ['NoDataRows', 'header-only.csv, row 2'],
    'Export the data with its rows',
  ),
  csvCase(
    'csv-one-class',
    'every label is 0',
    fixture('one-class.csv'),
    'one-class.csv',
    ['TooFewRowsOfClass', 'one-class.csv, column "Class"', 'class 1 (positive) has 0 rows'],
    'Check the target column, or use more data',
  ),
  csvCase(
    'csv-target-not-binary',
    'a label of 2',
    fixture('target-not-binary.csv'),
    'target-not-binary.csv',
    ['TargetNotBinary', 'target-not-binary.csv, row 4, column "Class"', 'target value "2" is not 0 or 1'],
    'map the positive class to 1',
  ),
  csvCase(
    'csv-ragged-row',
    'a row with a field missing',
    fixture('ragged-short.csv'),
    'ragged-short.csv',
    ['RaggedRow', 'ragged-short.csv, row 3', '2 fields where the header has 3'],
    'Check for an unquoted comma',
  ),
  csvCase(
    'csv-unclosed-quote',
    'a quote that never closes',
    fixture('unclosed-quote.csv'),
    'unclosed-quote.csv',
    ['MalformedCsv', 'unclosed-quote.csv, row 4', 'Quote Not Closed'],
    'Fix the quoting on that line',
  ),
  csvCase(
    'csv-10000-columns',
    '10,000 columns (a transposed export)',
    (ctx) => ctx.write('wide.csv', wideCsv(10_000)),
    'wide.csv',
    ['TooManyColumns', 'wide.csv, row 1', '10000 columns, more than the limit of 2000'],
    'transposed',
  ),
  {
    ...csvCase(
      'csv-over-size-limit',
      'a file over the configured size limit (SLIPWAY_MAX_SOURCE_BYTES=64 on the worker)',
      fixture('text-in-numeric.csv'),
      'big.csv',
      ['SourceTooLarge', 'big.csv is 392 bytes, over the limit of 64 bytes'],
      'SLIPWAY_MAX_SOURCE_BYTES',
    ),
    // The limit is the worker's: this case's worker is started with it (see the test).
    run: {
      kind: 'cli',
      args: async (ctx) => ['extract', await ctx.write('big.csv', wideCsv(40)), '--target', 'Class'],
      env: (ctx) => ({ SLIPWAY_TASK_QUEUE: ctx.queues.smallLimit }),
    },
  },
  csvCase(
    'csv-missing-file',
    'a path that does not exist',
    (ctx) => ctx.missing('nowhere.csv'),
    'nowhere.csv',
    ['SourceNotFound', 'nowhere.csv does not exist'],
    'Check the path',
  ),
  csvCase(
    'csv-s3-missing-bucket',
    'an s3:// source in a bucket that does not exist',
    () => 's3://no-such-bucket-slipway/data.csv',
    's3://no-such-bucket-slipway/data.csv',
    [
      'S3BucketNotFound',
      's3://no-such-bucket-slipway/data.csv: bucket "no-such-bucket-slipway" does not exist',
    ],
    'Check the bucket name in the URI',
  ),
  csvCase(
    'csv-constant-feature',
    'a feature with the same value in every row',
    (ctx) => ctx.write('constant.csv', 'a,c,Class\n1,5,0\n2,5,1\n3,5,0\n4,5,1\n'),
    'constant.csv',
    ['constant features  c (the same value in every row'],
    'leave them out with --features',
    { outcome: 'warned' },
  ),

  {
    id: 'csv-too-many-categories',
    area: 'CSV file',
    input: 'a --categorical column with 10,001 distinct values (an identifier, not a category)',
    entry: 'slipway run --source accounts.csv --target Class --categorical account --model ...',
    run: {
      kind: 'cli',
      args: async (ctx) => [
        'run',
        '--source',
        await ctx.write('accounts.csv', accountsCsv(10_001)),
        '--target',
        'Class',
        '--model',
        ctx.model,
        '--epochs',
        '1',
        '--categorical',
        'account',
      ],
    },
    problem: [
      'TooManyCategories',
      'accounts.csv, row 10002, column "account"',
      'more than 10,000 distinct values by this row',
    ],
    hint: 'Leave it out of --categorical and --features, or group its values',
    reaches: { workflow: 'trainToDeploy', activity: 'extractDataset' },
  },

  // Configuration: read before anything starts; the message names the variable.
  {
    id: 'config-artifacts-scheme',
    area: 'configuration',
    input: 'SLIPWAY_ARTIFACTS=ftp://...',
    entry: 'SLIPWAY_ARTIFACTS=ftp://host/models slipway models',
    run: { kind: 'cli', env: () => ({ SLIPWAY_ARTIFACTS: 'ftp://host/models' }), args: () => ['models'] },
    problem: ['SLIPWAY_ARTIFACTS', 'ftp://host/models'],
    hint: 'must start with file:// or s3://',
  },
  {
    id: 'config-port-not-a-number',
    area: 'configuration',
    input: 'SLIPWAY_TEMPORAL_PORT=seven',
    entry: 'SLIPWAY_TEMPORAL_PORT=seven slipway models',
    run: { kind: 'cli', env: () => ({ SLIPWAY_TEMPORAL_PORT: 'seven' }), args: () => ['models'] },
    problem: ['SLIPWAY_TEMPORAL_PORT: Invalid input: expected number'],
    hint: 'Fix or unset these variables',
  },
  {
    id: 'config-s3-missing-bucket',
    area: 'configuration',
    input: 'SLIPWAY_ARTIFACTS=s3://<bucket that does not exist>',
    entry: 'SLIPWAY_ARTIFACTS=s3://no-such-bucket-slipway/models slipway run ...',
    run: {
      kind: 'cli',
      env: () => ({ SLIPWAY_ARTIFACTS: 's3://no-such-bucket-slipway/models' }),
      args: (ctx) => runArgs(ctx),
    },
    problem: ['S3BucketNotFound', '"no-such-bucket-slipway" does not exist'],
    hint: 'point SLIPWAY_ARTIFACTS at an existing bucket',
  },
  {
    id: 'config-s3-wrong-secret',
    area: 'configuration',
    input: 'a wrong SLIPWAY_S3_SECRET_KEY',
    entry: 'SLIPWAY_S3_SECRET_KEY=<wrong> slipway run ...',
    run: {
      kind: 'cli',
      env: () => ({ SLIPWAY_S3_SECRET_KEY: 'wrong-secret-f00dfeed' }),
      args: (ctx) => runArgs(ctx),
    },
    problem: ['S3AccessDenied', 'refused access to bucket'],
    hint: 'Check SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY',
  },
  {
    id: 'config-worker-wrong-secret',
    area: 'configuration',
    input: 'a worker whose SLIPWAY_S3_SECRET_KEY is wrong',
    entry: 'slipway run ... (served by a worker started with a wrong SLIPWAY_S3_SECRET_KEY)',
    run: {
      kind: 'cli',
      env: (ctx) => ({ SLIPWAY_TASK_QUEUE: ctx.queues.wrongSecret }),
      args: (ctx) => runArgs(ctx),
    },
    problem: ['S3AccessDenied', 'refused access to bucket'],
    hint: 'Check SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY',
    reaches: { workflow: 'trainToDeploy', activity: 'extractDataset' },
  },
  {
    id: 'config-temporal-unreachable',
    area: 'configuration',
    input: 'SLIPWAY_TEMPORAL_ADDRESS where nothing listens',
    entry: 'SLIPWAY_TEMPORAL_ADDRESS=127.0.0.1:1 slipway pending',
    run: { kind: 'cli', env: () => ({ SLIPWAY_TEMPORAL_ADDRESS: '127.0.0.1:1' }), args: () => ['pending'] },
    problem: ['Cannot reach Temporal at 127.0.0.1:1'],
    hint: 'Check SLIPWAY_TEMPORAL_ADDRESS',
  },
  {
    id: 'config-payload-keys',
    area: 'configuration',
    input: 'SLIPWAY_PAYLOAD_KEYS that is not id:base64key',
    entry: 'SLIPWAY_PAYLOAD_KEYS=not-a-key slipway pending',
    run: { kind: 'cli', env: () => ({ SLIPWAY_PAYLOAD_KEYS: 'not-a-key' }), args: () => ['pending'] },
    problem: ['SLIPWAY_PAYLOAD_KEYS must be a comma-separated list of id:key'],
    hint: 'openssl rand -base64 32',
  },

  // CLI arguments: refused by the command before any workflow starts.
  {
    id: 'cli-model-name-path',
    area: 'CLI arguments',
    input: 'a model name with ../',
    entry: 'slipway run --model ../etc ...',
    run: { kind: 'cli', args: (ctx) => [...runArgs(ctx).slice(0, 3), '--model', '../etc', '--epochs', '1'] },
    problem: ['InvalidModelName', 'Invalid model name "../etc"'],
    hint: 'lowercase letters, digits',
  },
  {
    id: 'cli-epochs-zero',
    area: 'CLI arguments',
    input: '--epochs 0',
    entry: 'slipway run ... --epochs 0',
    run: { kind: 'cli', args: (ctx) => [...runArgs(ctx).slice(0, -1), '0'] },
    problem: ['--epochs must be at least 1, got 0'],
    hint: '--help',
  },
  {
    id: 'cli-epochs-text',
    area: 'CLI arguments',
    input: '--epochs abc',
    entry: 'slipway run ... --epochs abc',
    run: { kind: 'cli', args: (ctx) => [...runArgs(ctx).slice(0, -1), 'abc'] },
    problem: ['--epochs must be a whole number, got "abc"'],
    hint: '--help',
  },
  {
    id: 'cli-threshold-range',
    area: 'CLI arguments',
    input: '--threshold 1.5',
    entry: 'slipway run ... --threshold 1.5',
    run: { kind: 'cli', args: (ctx) => runArgs(ctx, '--threshold', '1.5') },
    problem: ['--threshold must be less than 1, got 1.5'],
    hint: '--help',
  },
  {
    id: 'cli-kind-mismatch',
    area: 'CLI arguments',
    input: '--threshold with --kind anomaly',
    entry: 'slipway run ... --kind anomaly --threshold 0.3',
    run: { kind: 'cli', args: (ctx) => runArgs(ctx, '--kind', 'anomaly', '--threshold', '0.3') },
    problem: [
      '--threshold (the anomaly threshold comes from --contamination) does not apply to --kind anomaly',
    ],
    hint: 'Leave it out',
  },
  {
    id: 'cli-approval-timeout',
    area: 'CLI arguments',
    input: '--approval-timeout soon',
    entry: 'slipway run ... --approvers alice --approval-timeout soon',
    run: { kind: 'cli', args: (ctx) => runArgs(ctx, '--approvers', 'alice', '--approval-timeout', 'soon') },
    problem: ['--approval-timeout "soon" is not a duration'],
    hint: '90s, 15m, 2h, 7d',
  },
  {
    id: 'cli-missing-source',
    area: 'CLI arguments',
    input: 'run without --source',
    entry: 'slipway run --model card-fraud',
    run: { kind: 'cli', args: (ctx) => ['run', '--model', ctx.model] },
    problem: ['give --source <uri> and --model <name>, or -f <pipeline file>'],
    hint: '--help',
  },
  {
    id: 'cli-pipeline-file',
    area: 'CLI arguments',
    input: 'a pipeline file with a misspelt activation',
    entry: 'slipway run -f slipway.yaml',
    run: {
      kind: 'cli',
      args: async (ctx) => {
        const path = `${ctx.dir}/bad-pipeline.yaml`;
        const { writeFile } = await import('node:fs/promises');
        await writeFile(
          path,
          `version: 1\nmodel: ${ctx.model}\nsource: "synthetic:fraud?rows=3000&seed=1"\n` +
            'spec:\n  layers:\n    - { type: dense, units: 1, activation: sigmoidd }\n',
        );
        return ['run', '-f', path];
      },
    },
    problem: ['bad-pipeline.yaml:6:44: spec.layers[0].activation', '"sigmoidd" is not one of'],
    hint: 'relu, sigmoid, tanh',
  },
  {
    id: 'cli-unknown-model',
    area: 'CLI arguments',
    input: 'a model that was never registered',
    entry: 'slipway apply no-such-model --input ... --output ...',
    run: {
      kind: 'cli',
      args: (ctx) => applyArgs(ctx, 'no-such-model', ctx.scoringCsv),
      output: (ctx) => `${ctx.dir}/scored-no_such_model.csv`,
    },
    problem: ['ModelNotFound', 'No model "no-such-model"'],
    hint: 'Check the name',
  },
  {
    id: 'cli-unknown-version',
    area: 'CLI arguments',
    input: 'a version that does not exist',
    entry: 'slipway apply card-fraud@99 --input ... --output ...',
    run: {
      kind: 'cli',
      args: (ctx) => applyArgs(ctx, `${ctx.model}@99`, ctx.scoringCsv),
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}_99.csv`,
    },
    problem: ['ModelVersionNotFound', 'has no version 99'],
    hint: 'Pick one of those',
  },
  {
    id: 'cli-unknown-alias',
    area: 'CLI arguments',
    input: 'an alias that does not exist',
    entry: 'slipway apply card-fraud@staging --input ... --output ...',
    run: {
      kind: 'cli',
      args: (ctx) => applyArgs(ctx, `${ctx.model}@staging`, ctx.scoringCsv),
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}_staging.csv`,
    },
    problem: ['has no alias "staging"', 'its aliases: production'],
    hint: '@<version>',
  },
  {
    id: 'cli-import-feature-count',
    area: 'CLI arguments',
    input: 'import onnx with 3 features for a 30-input file',
    entry: 'slipway import onnx model.onnx --features a,b,c ...',
    run: {
      kind: 'cli',
      args: (ctx) => [
        'import',
        'onnx',
        ctx.onnxFile,
        '--model',
        'bad-import',
        '--target',
        'Class',
        '--features',
        'a,b,c',
        '--approvers',
        'alice',
      ],
    },
    problem: ['FeatureCountMismatch', 'takes 30 features per row, but 3 features were given'],
    hint: 'List exactly the columns the model was trained on',
    reaches: { workflow: 'importModel', activity: 'importOnnx' },
  },
  {
    id: 'cli-import-on-anomaly',
    area: 'CLI arguments',
    input: 'import onnx with --on-anomaly, which judges training data an import does not have',
    entry: 'slipway import onnx model.onnx ... --on-anomaly fail',
    run: {
      kind: 'cli',
      args: (ctx) => [
        'import',
        'onnx',
        ctx.onnxFile,
        '--model',
        'bad-import',
        '--target',
        'Class',
        '--features',
        'a,b,c',
        '--approvers',
        'alice',
        '--on-anomaly',
        'fail',
      ],
    },
    problem: ['--on-anomaly checks the data a version is trained on', 'an import trains nothing here'],
    hint: 'slipway drift <model>@production --input <csv>',
  },

  // Workflow input: anyone with access to Temporal can start a workflow without the CLI.
  {
    id: 'workflow-model-name-path',
    area: 'workflow input',
    input: 'modelName "../../registry" sent straight to Temporal',
    entry: "client.workflow.start('trainToDeploy', { args: [{ modelName: '../../registry', ... }] })",
    run: {
      kind: 'workflow',
      workflowType: 'trainToDeploy',
      input: () => ({ source: 'synthetic:fraud?rows=4000&seed=3', modelName: '../../registry' }),
    },
    problem: ['InvalidWorkflowInput', 'modelName: invalid model name', '(got "../../registry")'],
    hint: 'a model name is <model> or <namespace>/<model>',
    reaches: { workflow: 'trainToDeploy' },
  },
  {
    id: 'workflow-test-fraction',
    area: 'workflow input',
    input: 'split.testFraction 1.5',
    entry: "client.workflow.start('trainToDeploy', { args: [{ split: { testFraction: 1.5 }, ... }] })",
    run: {
      kind: 'workflow',
      workflowType: 'trainToDeploy',
      input: (ctx) => ({
        source: 'synthetic:fraud?rows=4000&seed=3',
        modelName: ctx.model,
        split: { testFraction: 1.5 },
      }),
    },
    problem: ['InvalidWorkflowInput', 'split.testFraction', '(got 1.5)'],
    hint: 'expected number to be <1',
    reaches: { workflow: 'trainToDeploy' },
  },
  {
    id: 'workflow-bad-csv',
    area: 'workflow input',
    input: 'a run on a CSV with text in a number column',
    entry: 'slipway run --source text-in-numeric.csv --target Class --model card-fraud',
    run: {
      kind: 'cli',
      args: (ctx) => [
        'run',
        '--source',
        ctx.fixture('text-in-numeric.csv'),
        '--target',
        'Class',
        '--model',
        ctx.model,
        '--epochs',
        '1',
      ],
    },
    problem: ['NonNumericValue', 'text-in-numeric.csv, row 3, column "b"', '"abc" is not a number'],
    hint: 'name a text column with --categorical (anomaly runs), or leave it out',
    reaches: { workflow: 'trainToDeploy', activity: 'extractDataset' },
  },
  {
    id: 'workflow-unknown-feature',
    area: 'workflow input',
    input: '--features naming a column the file lacks',
    entry: 'slipway run --source data.csv --features V1,nope --model card-fraud',
    run: {
      kind: 'cli',
      args: (ctx) => [...runArgs(ctx), '--features', 'V1,nope'],
    },
    problem: ['UnknownFeature', 'row 1', 'feature "nope" not in the header'],
    hint: 'Columns found: Time, V1',
    reaches: { workflow: 'trainToDeploy', activity: 'extractDataset' },
  },

  // Approvals: the run's update validator refuses; nothing is recorded, no alias moves.
  {
    id: 'approval-stranger',
    area: 'approval',
    input: 'approval by someone not on the allow-list',
    entry: 'slipway approve <run> --as mallory --reason ok',
    run: { kind: 'cli', args: (ctx) => ['approve', ctx.runs.waiting, '--as', 'mallory', '--reason', 'ok'] },
    problem: ['refused', 'mallory may not review bad-input-base: the allow-list is alice, bob, carol'],
    hint: 'Ask one of them',
  },
  {
    id: 'approval-self',
    area: 'approval',
    input: 'the person who started the run approves it',
    entry: 'SLIPWAY_USER=carol slipway approve <run> --reason mine',
    run: { kind: 'cli', user: 'carol', args: (ctx) => ['approve', ctx.runs.waiting, '--reason', 'mine'] },
    problem: ['refused', 'carol started this run, so carol cannot review it'],
    hint: 'a second person on the allow-list must (four eyes)',
  },
  {
    id: 'approval-no-reason',
    area: 'approval',
    input: 'an approval with an empty reason',
    entry: 'slipway approve <run> --as alice --reason ""',
    run: { kind: 'cli', args: (ctx) => ['approve', ctx.runs.waiting, '--as', 'alice', '--reason', ' '] },
    problem: ['refused', 'reason'],
    hint: 'Give a reason with --reason',
  },
  {
    id: 'approval-double',
    area: 'approval',
    input: 'a second decision on a decided run',
    entry: 'slipway approve <run> --as bob --reason "me too"',
    run: { kind: 'cli', args: (ctx) => ['approve', ctx.runs.decided, '--as', 'bob', '--reason', 'me too'] },
    problem: ['has finished', 'was already approved by alice (looks right)'],
    hint: '`slipway pending` lists the runs that do',
  },
  {
    id: 'approval-after-deadline',
    area: 'approval',
    input: 'an approval after the review deadline',
    entry: 'slipway approve <run> --as alice --reason late',
    run: { kind: 'cli', args: (ctx) => ['approve', ctx.runs.timedOut, '--as', 'alice', '--reason', 'late'] },
    problem: ['has finished', 'timed out'],
    hint: '`slipway pending` lists the runs that do',
  },
  {
    id: 'approval-unknown-run',
    area: 'approval',
    input: 'an approval of a run that does not exist',
    entry: 'slipway approve no-such-run --as alice --reason ok',
    run: { kind: 'cli', args: () => ['approve', 'no-such-run', '--as', 'alice', '--reason', 'ok'] },
    problem: ['No workflow no-such-run'],
    hint: 'check the ID with `slipway pending`',
  },

  // apply: scoring reads the whole input before writing; the output appears whole or not at all.
  {
    id: 'apply-missing-feature',
    area: 'apply input',
    input: "the input lacks one of the model's features (feature count mismatch)",
    entry: 'slipway apply card-fraud --input no-v3.csv --output scored.csv',
    run: {
      kind: 'cli',
      args: async (ctx) => applyArgs(ctx, ctx.model, await withoutColumn(ctx, 'V3', 'no-v3.csv')),
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}.csv`,
    },
    problem: ['MissingFeatureColumn', "no-v3.csv lacks the model's feature V3"],
    hint: 'names must match exactly',
  },
  {
    id: 'apply-text-in-number',
    area: 'apply input',
    input: 'text in a feature cell, row 15',
    entry: 'slipway apply card-fraud --input text.csv --output scored.csv',
    run: {
      kind: 'cli',
      args: async (ctx) => applyArgs(ctx, ctx.model, await withCell(ctx, 14, 'Amount', 'n/a', 'text.csv')),
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}.csv`,
    },
    problem: ['NonNumericValue', 'text.csv, row 15, column "Amount"', '"n/a" is not a number'],
    hint: 'fill in or drop rows with missing values',
  },
  {
    id: 'apply-missing-input',
    area: 'apply input',
    input: '--input that does not exist',
    entry: 'slipway apply card-fraud --input nowhere.csv --output scored.csv',
    run: {
      kind: 'cli',
      args: (ctx) => applyArgs(ctx, ctx.model, ctx.missing('nowhere.csv')),
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}.csv`,
    },
    problem: ['SourceNotFound', 'nowhere.csv does not exist'],
    hint: 'Check the --input path',
  },
  {
    id: 'apply-threshold',
    area: 'apply input',
    input: '--threshold 2',
    entry: 'slipway apply card-fraud --input in.csv --output scored.csv --threshold 2',
    run: {
      kind: 'cli',
      args: (ctx) => [...applyArgs(ctx, ctx.model, ctx.scoringCsv), '--threshold', '2'],
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}.csv`,
    },
    problem: ['--threshold must be at most 1, got 2'],
    hint: '--help',
  },
  {
    id: 'apply-explain-too-many',
    area: 'apply input',
    input: '--explain more features than the model has',
    entry: 'slipway apply card-fraud --input in.csv --output scored.csv --explain 99',
    run: {
      kind: 'cli',
      args: (ctx) => [...applyArgs(ctx, ctx.model, ctx.scoringCsv), '--explain', '99'],
      output: (ctx) => `${ctx.dir}/scored-${ctx.model.replace(/[^a-z0-9]/g, '_')}.csv`,
    },
    problem: ['--explain must be at most 30, got 99'],
    hint: '--help',
  },
  {
    id: 'drift-missing-feature',
    area: 'drift input',
    input: "the new data lacks one of the model's features",
    entry: 'slipway drift card-fraud --input no-v3.csv',
    run: {
      kind: 'cli',
      args: async (ctx) => [
        'drift',
        ctx.model,
        '--input',
        await withoutColumn(ctx, 'V3', 'drift-no-v3.csv'),
        '--report',
        `${ctx.dir}/drift-no-v3.html`,
      ],
      output: (ctx) => `${ctx.dir}/drift-no-v3.html`,
    },
    problem: ['UnknownFeature', "drift-no-v3.csv, row 1: the file lacks the model's feature V3"],
    hint: 'column order does not matter, names must match',
  },
  {
    id: 'drift-text-in-number',
    area: 'drift input',
    input: 'text in a feature cell of the new data, row 15',
    entry: 'slipway drift card-fraud --input text.csv',
    run: {
      kind: 'cli',
      args: async (ctx) => [
        'drift',
        ctx.model,
        '--input',
        await withCell(ctx, 14, 'Amount', 'n/a', 'drift-text.csv'),
        '--report',
        `${ctx.dir}/drift-text.html`,
      ],
      output: (ctx) => `${ctx.dir}/drift-text.html`,
    },
    problem: ['NonNumericValue', 'drift-text.csv, row 15, column "Amount"', '"n/a" is not a number'],
    hint: 'fill in or drop rows with missing values',
  },
  {
    id: 'run-on-anomaly-policy',
    area: 'CLI arguments',
    input: '--on-anomaly with an unknown policy',
    entry: 'slipway run ... --on-anomaly stop',
    run: { kind: 'cli', args: (ctx) => runArgs(ctx, '--on-anomaly', 'stop') },
    problem: ['--on-anomaly "stop" is not a policy'],
    hint: 'use fail, review, warn',
  },
];
