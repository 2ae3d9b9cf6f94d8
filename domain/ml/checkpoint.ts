import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { TrainingInputError } from './errors';

/**
 * A training checkpoint as bytes: a 4-byte header length, a JSON header (validated on read), then
 * the float32 data of every model weight and optimizer slot (Adam's moments and step count), so
 * a resumed run continues exactly where the saved one stopped.
 */
const MAGIC = 'slipway-checkpoint-v1';

const tensorEntry = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  length: z.number().int(),
});
const headerSchema = z.object({
  format: z.literal(MAGIC),
  /** Epochs completed; training resumes at this epoch index. */
  epoch: z.number().int().nonnegative(),
  history: z.array(z.record(z.string(), z.number())),
  weights: z.array(tensorEntry),
  optimizer: z.array(tensorEntry),
});
export type CheckpointHeader = z.infer<typeof headerSchema>;

export interface TrainingState {
  epoch: number;
  history: Array<Record<string, number>>;
  weights: tf.Tensor[];
  optimizer: Array<{ name: string; tensor: tf.Tensor }>;
}

export async function encodeCheckpoint(state: TrainingState): Promise<Uint8Array> {
  const read = (t: tf.Tensor) => t.data() as Promise<Float32Array>;
  return encodeCheckpointArrays({
    epoch: state.epoch,
    history: state.history,
    weights: await Promise.all(state.weights.map(async (t) => ({ shape: t.shape, data: await read(t) }))),
    optimizer: await Promise.all(
      state.optimizer.map(async (o) => ({ name: o.name, shape: o.tensor.shape, data: await read(o.tensor) })),
    ),
  });
}

/** A weight or optimiser slot as plain data (the native trainer's form; no tfjs backend needed). */
export interface ArrayEntry {
  name?: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** The same bytes as encodeCheckpoint, from plain arrays. */
export function encodeCheckpointArrays(state: {
  epoch: number;
  history: Array<Record<string, number>>;
  weights: ArrayEntry[];
  optimizer: Array<ArrayEntry & { name: string }>;
}): Uint8Array {
  const datas = [...state.weights, ...state.optimizer].map((e) => e.data);
  const header: CheckpointHeader = {
    format: MAGIC,
    epoch: state.epoch,
    history: state.history,
    weights: state.weights.map((e, i) => ({ name: `w${i}`, shape: e.shape, length: e.data.length })),
    optimizer: state.optimizer.map((e) => ({ name: e.name, shape: e.shape, length: e.data.length })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const floats = datas.reduce((n, d) => n + d.length, 0);
  const out = new Uint8Array(4 + json.length + floats * 4);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let offset = 4 + json.length;
  for (const d of datas) {
    out.set(new Uint8Array(Float32Array.from(d).buffer), offset);
    offset += d.length * 4;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): TrainingState {
  const state = decodeCheckpointArrays(bytes);
  return {
    epoch: state.epoch,
    history: state.history,
    weights: state.weights.map((e) => tf.tensor(e.data, e.shape, 'float32')),
    optimizer: state.optimizer.map((e) => ({ name: e.name, tensor: tf.tensor(e.data, e.shape, 'float32') })),
  };
}

/** decodeCheckpoint without tfjs: every weight and optimiser slot as a Float32Array. */
export function decodeCheckpointArrays(bytes: Uint8Array): {
  epoch: number;
  history: Array<Record<string, number>>;
  weights: Array<{ shape: number[]; data: Float32Array }>;
  optimizer: Array<{ name: string; shape: number[]; data: Float32Array }>;
} {
  const fail = (why: string) =>
    new TrainingInputError('InvalidCheckpoint', `The training checkpoint cannot be read: ${why}.`);
  if (bytes.length < 4) throw fail('too short');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  let header: CheckpointHeader;
  try {
    header = headerSchema.parse(
      JSON.parse(Buffer.from(bytes.subarray(4, 4 + headerLength)).toString('utf8')),
    );
  } catch (err) {
    throw fail(`bad header (${(err as Error).message.slice(0, 200)})`);
  }
  let offset = 4 + headerLength;
  const take = (entry: z.infer<typeof tensorEntry>) => {
    const end = offset + entry.length * 4;
    if (end > bytes.length) throw fail('truncated data');
    if (entry.shape.reduce((p, d) => p * d, 1) !== entry.length)
      throw fail(`${entry.name} has the wrong length`);
    // Copy: a Buffer's slice is a view into a shared pool, not a fresh, aligned buffer.
    const data = new Float32Array(new Uint8Array(bytes.subarray(offset, end)).buffer);
    offset = end;
    return data;
  };
  const weights = header.weights.map((e) => ({ shape: e.shape, data: take(e) }));
  const optimizer = header.optimizer.map((e) => ({ name: e.name, shape: e.shape, data: take(e) }));
  if (offset !== bytes.length) throw fail('trailing bytes');
  return { epoch: header.epoch, history: header.history, weights, optimizer };
}

/** Rebuilds a trained network from its spec and a checkpoint (the stored model artifact). */
export function restoreWeights(model: tf.LayersModel, bytes: Uint8Array): number {
  const state = decodeCheckpoint(bytes);
  model.setWeights(state.weights);
  tf.dispose([...state.weights, ...state.optimizer.map((o) => o.tensor)]);
  return state.epoch;
}
