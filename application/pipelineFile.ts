import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import {
  categoricalProblems,
  type TrainToDeployInput,
  trainToDeployInputSchema,
  tuneToDeployInputSchema,
} from '../contracts/inputs';
import { type PipelineFile, pipelineFileJsonSchema, pipelineFileSchema } from '../contracts/pipelineFile';
import { parseDatasetSource } from '../domain/data/sourceUri';
import { TypedError } from '../domain/errors';
import { PIPELINE_FILE_MAX_BYTES, type PipelineFileRecord } from '../domain/registry/metadata';
import type { TuneSettingsInput } from '../domain/tune/searchSpace';

/**
 * Reading a pipeline file (contracts/pipelineFile.ts): YAML, because a file kept in git wants
 * comments (why this threshold, who asked for that approver), and `slipway init` writes them. JSON
 * is YAML too, so a generated JSON file is read as well.
 */

/**
 * A pipeline file that cannot be used. Each problem reads `file:line:column: key.path: what is wrong`
 * (what editors and terminals link to) and says what is allowed.
 */
export class PipelineFileError extends TypedError<'PipelineFileInvalid'> {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      'PipelineFileInvalid',
      problems.length === 1
        ? problems[0]
        : `${file} has ${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      { file, problems },
      'PipelineFileError',
    );
  }
}

export interface LoadedPipelineFile {
  pipeline: PipelineFile;
  /** What the version records: the path as given, the sha256 of the bytes and the text. */
  record: PipelineFileRecord;
}

/** Reads and validates the pipeline file at `path` (problems are thrown as PipelineFileError). */
export function readPipelineFile(path: string): LoadedPipelineFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file (`slipway init` writes a starting one)' : (err as Error).message;
    throw new PipelineFileError(path, [`${path}: ${why}`]);
  }
  return parsePipelineFile(bytes, path);
}

/** Validates a pipeline file's bytes; `name` is how errors and the version's record refer to it. */
export function parsePipelineFile(bytes: Buffer | string, name: string): LoadedPipelineFile {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buffer.length > PIPELINE_FILE_MAX_BYTES) {
    throw new PipelineFileError(name, [
      `${name}: the file is ${buffer.length} bytes; a pipeline file may have at most ${PIPELINE_FILE_MAX_BYTES}`,
    ]);
  }
  const text = buffer.toString('utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PipelineFileError(
      name,
      doc.errors.map(
        (e) => `${name}:${position(lines, e.pos[0])}: not valid YAML: ${e.message.split('\n')[0]}`,
      ),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PipelineFileError(name, [
      `${name}: the file must be a mapping of settings (model: ..., source: ..., spec: ...); \`slipway init\` writes one`,
    ]);
  }
  // Where a key is: its value's node, or (a missing key) the nearest enclosing one.
  const where = (path: readonly PropertyKey[]): string => {
    const node = doc.getIn(path as unknown[], true) as { range?: [number, number] } | undefined;
    if (node?.range) return `${name}:${position(lines, node.range[0])}`;
    return path.length > 0 ? where(path.slice(0, -1)) : `${name}:1:1`;
  };
  const unknown = unknownKeys(value, pipelineFileJsonSchema(), []);
  if (unknown.length > 0) {
    throw new PipelineFileError(
      name,
      unknown.map(({ path, key, allowed }) => {
        const at = keyPosition(doc.getIn(path as unknown[], true), key, lines);
        return `${at ? `${name}:${at}` : where(path)}: ${formatPath([...path, key])}: unknown key; allowed here: ${allowed.join(', ')}`;
      }),
    );
  }
  const parsed = pipelineFileSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    throw new PipelineFileError(
      name,
      parsed.error.issues.map(
        (issue) => `${where(issue.path)}: ${formatPath(issue.path)}: ${describeIssue(issue)}`,
      ),
    );
  }
  // A relative path in the file is relative to the file, so the file means the same from any folder.
  let source: string;
  try {
    source = parseDatasetSource(parsed.data.source, dirname(resolve(name))).uri;
  } catch (err) {
    throw new PipelineFileError(name, [`${where(['source'])}: source: ${(err as Error).message}`]);
  }
  return {
    pipeline: { ...parsed.data, source },
    record: { path: name, sha256: createHash('sha256').update(buffer).digest('hex'), contents: text },
  };
}

/** What the command line may change in a file's run ("flags override the file"). */
export interface RunOverrides {
  source?: string;
  target?: string;
  features?: string[];
  categorical?: string[];
  modelName?: string;
  epochs?: number;
  threshold?: number;
  classWeights?: 'inverse' | 'balanced' | 'none';
  cache?: boolean;
  gate?: TrainToDeployInput['gate'];
}

/** The workflow input of a file's run, with the command line's overrides, validated. */
export function pipelineRunInput(
  loaded: LoadedPipelineFile,
  overrides: RunOverrides,
  createdBy: string,
): z.output<typeof trainToDeployInputSchema> {
  const { pipeline } = loaded;
  const input = trainToDeployInputSchema.parse({
    source: overrides.source ?? pipeline.source,
    target: overrides.target ?? pipeline.target,
    features: overrides.features ?? pipeline.features,
    categorical: overrides.categorical ?? pipeline.categorical,
    modelName: overrides.modelName ?? pipeline.model,
    split: pipeline.split,
    spec: { ...pipeline.spec, ...(overrides.epochs === undefined ? {} : { epochs: overrides.epochs }) },
    classWeights: overrides.classWeights ?? pipeline.classWeights,
    threshold: overrides.threshold ?? pipeline.threshold,
    cache: overrides.cache ?? pipeline.cache,
    gate: overrides.gate ?? pipeline.gate,
    createdBy,
    pipelineFile: loaded.record,
  });
  // The file's own categorical: was checked as it was read; flags over it are checked here.
  const problems = categoricalProblems({ ...input, label: input.target });
  if (problems.length > 0) {
    const name = loaded.record.path;
    const flags = [
      overrides.categorical ? `--categorical ${overrides.categorical.join(',')}` : '',
      overrides.features ? `--features ${overrides.features.join(',')}` : '',
      overrides.target ? `--target ${overrides.target}` : '',
    ].filter(Boolean);
    throw new PipelineFileError(
      name,
      problems.map(
        (p) =>
          `${name}: categorical[${p.index}]: ${p.message}${flags.length > 0 ? ` (with ${flags.join(', ')})` : ''}`,
      ),
    );
  }
  return input;
}

/** What `slipway tune` may change in a file's search (--method, --trials, --parallel, --seed). */
export type TuneOverrides = Partial<Pick<TuneSettingsInput, 'method' | 'trials' | 'parallel' | 'seed'>>;

/**
 * The workflow input of a file's search: the run the file declares (with the command line's
 * overrides) and its `tune:` section (with --method, --trials, --parallel, --seed over it). A file
 * without a tune section, or a search the overrides make invalid (a grid over a range), is refused
 * with the key and what is allowed.
 */
export function pipelineTuneInput(
  loaded: LoadedPipelineFile,
  overrides: RunOverrides,
  tuneOverrides: TuneOverrides,
  createdBy: string,
): z.output<typeof tuneToDeployInputSchema> {
  const name = loaded.record.path;
  const tune = loaded.pipeline.tune;
  if (!tune) {
    throw new PipelineFileError(name, [
      `${name}: tune: missing: \`slipway tune\` needs a tune: section, e.g.\n` +
        '    tune:\n      method: random        # grid, random or halving\n      trials: 8\n' +
        '      space:\n        spec.learningRate: { range: [0.001, 0.05], scale: log }\n' +
        '        spec.layers[0].units: [64, 128, 256]',
    ]);
  }
  const run = pipelineRunInput(loaded, overrides, createdBy);
  // The file's settings under the flags; a trial count from the file does not bind another method.
  const method = tuneOverrides.method ?? tune.method;
  const trials = tuneOverrides.trials ?? (method === tune.method ? tune.trials : undefined);
  const parsed = tuneToDeployInputSchema.safeParse({
    ...run,
    tune: { ...tune, ...tuneOverrides, method, trials },
  });
  if (!parsed.success) {
    const flags: Record<string, string> = {
      method: '--method',
      trials: '--trials',
      parallel: '--parallel',
      seed: '--seed',
    };
    throw new PipelineFileError(
      name,
      parsed.error.issues.map((issue) => {
        const given = Object.keys(tuneOverrides).map(
          (k) => `${flags[k]} ${String(tuneOverrides[k as keyof TuneOverrides])}`,
        );
        return `${name}: ${formatPath(issue.path)}: ${issue.message}${given.length > 0 ? ` (with ${given.join(', ')})` : ''}`;
      }),
    );
  }
  return parsed.data;
}

/** "spec.layers[1].activation" */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(the file)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

function position(lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${line}:${col}`;
}

function keyPosition(parent: unknown, key: string, lines: LineCounter): string | undefined {
  if (!isMap(parent)) return undefined;
  const pair = (parent as YAMLMap).items.find(
    (item) => (item.key as { value?: unknown } | null)?.value === key,
  );
  const range = (pair?.key as { range?: [number, number] } | null)?.range;
  return range ? position(lines, range[0]) : undefined;
}

/** An issue in a person's words, with the value that was given when zod reports it. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  const given = input === undefined ? '' : ` (got ${JSON.stringify(input)})`;
  switch (issue.code) {
    case 'invalid_value':
      return `${JSON.stringify(input)} is not one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return input === undefined
        ? `missing: a ${issue.expected} is required here`
        : `expected a ${issue.expected}, got ${JSON.stringify(input)}`;
    case 'invalid_union': {
      // A discriminated union (a layer's type): say which value was given and which are allowed.
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (discriminator && options && input !== null && typeof input === 'object') {
        const value = (input as Record<string, unknown>)[discriminator];
        return `${JSON.stringify(value)} is not one of ${options.map(String).join(', ')}`;
      }
      return `${issue.message}${given}`;
    }
    default:
      return `${issue.message}${issue.code === 'custom' ? '' : given}`;
  }
}

interface UnknownKey {
  path: PropertyKey[];
  key: string;
  allowed: string[];
}

/**
 * Keys the schema does not know, found by walking the generated JSON Schema beside the value (zod
 * objects drop unknown keys silently, and a misspelt `learningrate` must not pass for a default).
 */
function unknownKeys(value: unknown, schema: unknown, path: PropertyKey[]): UnknownKey[] {
  const s = schema as {
    properties?: Record<string, unknown>;
    items?: unknown;
    oneOf?: unknown[];
    anyOf?: unknown[];
  };
  if (value === null || typeof value !== 'object') return [];
  const branches = s.oneOf ?? s.anyOf;
  if (branches) {
    // A union: follow the branch whose constants (e.g. type: dense) the value matches.
    const match = branches.find((b) => constantsMatch(value, b));
    return match ? unknownKeys(value, match, path) : [];
  }
  if (Array.isArray(value)) {
    return s.items ? value.flatMap((item, i) => unknownKeys(item, s.items, [...path, i])) : [];
  }
  if (!s.properties) return [];
  const properties = s.properties;
  return Object.entries(value).flatMap(([key, child]) =>
    key in properties
      ? unknownKeys(child, properties[key], [...path, key])
      : [{ path, key, allowed: Object.keys(properties) }],
  );
}

function constantsMatch(value: object, branch: unknown): boolean {
  const properties = (branch as { properties?: Record<string, { const?: unknown }> }).properties ?? {};
  return Object.entries(properties).every(
    ([key, p]) => p.const === undefined || (value as Record<string, unknown>)[key] === p.const,
  );
}
