import { z } from 'zod';
import { type ModelSpec, modelSpecSchema } from '../ml/modelSpec';
import { deriveSeed, mulberry32 } from '../random';

/**
 * The search space of `slipway tune`: which settings of the model spec vary, and over what. Pure
 * code (no clocks, no Math.random): the tune workflow samples its trials with it, so the same seed
 * gives the same trials on every replay and every machine.
 */

export const tuneMethods = ['grid', 'random', 'halving'] as const;
export type TuneMethod = (typeof tuneMethods)[number];

/** A list: the values a grid crosses, or the choices random sampling picks from. */
const choicesSchema = z
  .array(z.union([z.number(), z.string()]))
  .min(1, 'a list of choices needs at least one value');

/** A range for random sampling (random, halving): uniform, or log-uniform for a learning rate. */
const rangeSchema = z
  .object({
    range: z.tuple([z.number(), z.number()]),
    scale: z.enum(['linear', 'log']).default('linear'),
  })
  // Inside a record, the file reader's unknown-key check does not reach: a misspelt `scael` must
  // not pass for the linear default.
  .strict()
  .refine((r) => r.range[0] < r.range[1], {
    message: 'a range is [low, high] with low < high',
    path: ['range'],
  })
  .refine((r) => r.scale !== 'log' || r.range[0] > 0, {
    message: 'a log-scale range needs low > 0',
    path: ['range'],
  });

export const dimensionSchema = z.union([choicesSchema, rangeSchema]);
export type Dimension = z.infer<typeof dimensionSchema>;

/** Trials a search runs at most (grid combinations included): each is a training. */
export const MAX_TRIALS = 200;

/** The `tune:` section of a pipeline file, and the tune workflow's settings. */
export const tuneSettingsSchema = z
  .object({
    /** grid: every combination of the lists; random: `trials` samples; halving: random samples, successive halving. */
    method: z.enum(tuneMethods).default('random'),
    /** random and halving: how many trials (default 8); grid runs every combination. */
    trials: z.number().int().min(1).max(MAX_TRIALS).optional(),
    /** Trials training at once (at most); each takes one training worker slot. */
    parallel: z.number().int().min(1).max(64).default(2),
    /** Seed of the sampler: the same seed draws the same trials. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    /**
     * Setting -> values. Keys are paths into the model spec: spec.learningRate, spec.optimizer,
     * spec.batchSize, spec.epochs, spec.seed, spec.layers[i].units, spec.layers[i].activation,
     * spec.layers[i].rate. Values: a list, or { range: [low, high], scale: linear|log } (random, halving).
     */
    space: z.record(z.string(), dimensionSchema),
    /** Successive halving: each rung keeps the best 1/eta of its trials, which train eta times longer. */
    halving: z
      .object({
        eta: z.number().int().min(2).max(4).default(2),
        /** Epochs of the first rung; default spec.epochs / eta^(rungs - 1). */
        minEpochs: z.number().int().min(1).optional(),
      })
      .prefault({}),
  })
  .superRefine((tune, ctx) => {
    const keys = Object.keys(tune.space);
    if (keys.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['space'],
        message:
          'the search space is empty: name at least one setting, e.g. spec.learningRate: [0.001, 0.01]',
      });
    }
    if (tune.method !== 'grid') return;
    for (const key of keys) {
      if (!Array.isArray(tune.space[key])) {
        ctx.addIssue({
          code: 'custom',
          path: ['space', key],
          message:
            'grid crosses lists of values: give a list here, or use method: random or halving for a range',
        });
      }
    }
    const combinations = gridSize(tune.space);
    if (combinations > MAX_TRIALS) {
      ctx.addIssue({
        code: 'custom',
        path: ['space'],
        message: `the grid has ${combinations} combinations; at most ${MAX_TRIALS}: shorten the lists or use method: random`,
      });
    }
    if (tune.trials !== undefined && tune.trials !== combinations) {
      ctx.addIssue({
        code: 'custom',
        path: ['trials'],
        message: `grid runs every combination (${combinations} here): drop trials, or use method: random to sample ${tune.trials}`,
      });
    }
  });
export type TuneSettings = z.output<typeof tuneSettingsSchema>;
export type TuneSettingsInput = z.input<typeof tuneSettingsSchema>;

export const DEFAULT_RANDOM_TRIALS = 8;

/** Sets the sampler's random numbers apart from every other seeded stream. */
const SAMPLER_STREAM = 0x74756e65; // "tune"

/** A parsed key: a top-level spec setting, or a setting of one layer. */
type SettingPath =
  | { kind: 'spec'; field: 'learningRate' | 'optimizer' | 'batchSize' | 'epochs' | 'seed' }
  | { kind: 'layer'; index: number; field: 'units' | 'activation' | 'rate' };

const specFields = ['learningRate', 'optimizer', 'batchSize', 'epochs', 'seed'] as const;
const layerFields = ['units', 'activation', 'rate'] as const;
/** Settings that take whole numbers: sampled values are rounded. */
const integerFields = new Set(['batchSize', 'epochs', 'seed', 'units']);

export const tunableKeys =
  'spec.learningRate, spec.optimizer, spec.batchSize, spec.epochs, spec.seed, ' +
  'spec.layers[i].units, spec.layers[i].activation (dense layers), spec.layers[i].rate (dropout layers)';

function parseKey(key: string): SettingPath | undefined {
  const spec = /^spec\.(\w+)$/.exec(key);
  if (spec && (specFields as readonly string[]).includes(spec[1] as string)) {
    return { kind: 'spec', field: spec[1] as (typeof specFields)[number] };
  }
  const layer = /^spec\.layers\[(\d+)\]\.(\w+)$/.exec(key);
  if (layer && (layerFields as readonly string[]).includes(layer[2] as string)) {
    return { kind: 'layer', index: Number(layer[1]), field: layer[2] as (typeof layerFields)[number] };
  }
  return undefined;
}

export interface SpaceProblem {
  /** The key of tune.space the problem is about. */
  key: string;
  message: string;
}

/**
 * What is wrong with a space over a base spec: unknown keys, layers that do not exist or are of
 * the other type, the output layer, values the spec refuses (checked by putting each value, or
 * each end of a range, into the spec). Empty when the space is usable.
 */
export function searchSpaceProblems(
  space: Record<string, Dimension>,
  base: ModelSpec,
  method: TuneMethod,
): SpaceProblem[] {
  const problems: SpaceProblem[] = [];
  for (const [key, dimension] of Object.entries(space)) {
    const path = parseKey(key);
    if (!path) {
      const hint =
        key === 'classWeights' || key.startsWith('classWeights')
          ? ' (class weights scale the validation loss the trials are ranked by, so they cannot vary within one search)'
          : key.startsWith('split')
            ? ' (every trial trains and is ranked on the same split)'
            : '';
      problems.push({ key, message: `not a setting a search can vary${hint}; allowed: ${tunableKeys}` });
      continue;
    }
    if (method === 'halving' && path.kind === 'spec' && path.field === 'epochs') {
      problems.push({
        key,
        message:
          'halving decides how many epochs each trial trains (spec.epochs is the most): leave it out of the space',
      });
      continue;
    }
    if (path.kind === 'layer') {
      const layer = base.layers[path.index];
      const last = base.layers.length - 1;
      if (!layer) {
        problems.push({
          key,
          message: `the spec has ${base.layers.length} layers (spec.layers[0] to spec.layers[${last}])`,
        });
        continue;
      }
      if (path.index === last) {
        problems.push({
          key,
          message: `spec.layers[${last}] is the output layer (dense, 1 unit, sigmoid), which stays as it is`,
        });
        continue;
      }
      const wants = path.field === 'rate' ? 'dropout' : 'dense';
      if (layer.type !== wants) {
        problems.push({
          key,
          message: `spec.layers[${path.index}] is a ${layer.type} layer; ${path.field} belongs to ${wants} layers (${layer.type === 'dense' ? 'units, activation' : 'rate'} here)`,
        });
        continue;
      }
    }
    const values = Array.isArray(dimension) ? dimension : dimension.range;
    if (!Array.isArray(dimension) && (path.field === 'optimizer' || path.field === 'activation')) {
      problems.push({
        key,
        message: `${path.field} takes names: give a list, e.g. ${path.field === 'optimizer' ? '[adam, rmsprop]' : '[relu, tanh]'}`,
      });
      continue;
    }
    for (const value of values) {
      const trial = modelSpecSchema.safeParse(applyToSpec(base, { [key]: value }));
      if (!trial.success) {
        const issue = trial.error.issues[0];
        problems.push({
          key,
          message: `${JSON.stringify(value)} is not allowed: ${issue?.message ?? 'refused by the model spec'}`,
        });
      }
    }
  }
  return problems;
}

/** One trial's values, by key of the space. */
export type TrialSettings = Record<string, number | string>;

/** The spec a trial trains: the base spec with the trial's settings put in. */
export function applyToSpec(base: ModelSpec, settings: TrialSettings): ModelSpec {
  const spec: ModelSpec = { ...base, layers: base.layers.map((l) => ({ ...l })) };
  for (const [key, value] of Object.entries(settings)) {
    const path = parseKey(key);
    if (!path) throw new Error(`not a tunable setting: ${key}`);
    if (path.kind === 'spec') (spec as Record<string, unknown>)[path.field] = value;
    else {
      const layer = spec.layers[path.index];
      if (layer) (layer as Record<string, unknown>)[path.field] = value;
    }
  }
  return spec;
}

export function gridSize(space: Record<string, Dimension>): number {
  return Object.values(space).reduce((n, d) => n * (Array.isArray(d) ? d.length : 1), 1);
}

/**
 * The trials of a search, in order. Grid: every combination, the first key varying slowest.
 * Random and halving: `trials` draws, each value from its own seeded stream (seed, trial, key), so
 * adding a key to the space does not change what the other keys draw.
 */
export function sampleTrials(
  tune: Pick<TuneSettings, 'method' | 'trials' | 'seed' | 'space'>,
): TrialSettings[] {
  const keys = Object.keys(tune.space);
  if (tune.method === 'grid') {
    let combos: TrialSettings[] = [{}];
    for (const key of keys) {
      const values = tune.space[key] as Array<number | string>;
      combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
    }
    return combos;
  }
  const n = tune.trials ?? DEFAULT_RANDOM_TRIALS;
  return Array.from({ length: n }, (_, t) =>
    Object.fromEntries(
      keys.map((key, k) => {
        // The stream constant comes first so the seed is mixed before the trial and key are: with
        // (seed, t, k) alone, seed s trial 1 would draw what seed s+1 trial 0 draws.
        const random = mulberry32(deriveSeed(tune.seed, SAMPLER_STREAM, t, k));
        return [key, draw(key, tune.space[key] as Dimension, random())];
      }),
    ),
  );
}

function draw(key: string, dimension: Dimension, u: number): number | string {
  if (Array.isArray(dimension))
    return dimension[Math.min(dimension.length - 1, Math.floor(u * dimension.length))] as number | string;
  const [low, high] = dimension.range;
  const value =
    dimension.scale === 'log'
      ? Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low)))
      : low + u * (high - low);
  const field = key.slice(key.lastIndexOf('.') + 1);
  // Four significant digits: readable in tables, and the same number on every machine.
  return integerFields.has(field) ? Math.round(value) : Number(value.toPrecision(4));
}
