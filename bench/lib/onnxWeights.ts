import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, type TensorDef } from '../../domain/onnx/onnxProto';

/** What bench/keras/apply_pandas.py reads to rebuild the network (peer.json). */
export interface PeerModelMeta {
  features: string[];
  target: string;
  threshold: number;
  /** Float32 counts in weights.f32, in this order: mean, std, then kernel and bias of each layer. */
  layers: Array<{ inputs: number; units: number; activation: string }>;
}

function floats(t: TensorDef): Float32Array {
  if (t.rawData) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return new Float32Array(t.floatData ?? []);
}

/**
 * Writes the weights of one of Slipway's exported ONNX files (scaler, then Gemm kernel and bias
 * with the activation that follows each) for the Keras peer: the very numbers onnxruntime scores
 * with, so both sides compute the same function and their probabilities can be compared.
 */
export function writePeerModel(
  onnx: Uint8Array,
  dir: string,
  options: { features: string[]; target: string; threshold: number },
): void {
  const graph = decodeModel(onnx).graph;
  const init = new Map(graph.initializer.map((t) => [t.name, t]));
  const get = (name: string) => {
    const t = init.get(name);
    if (!t) throw new Error(`the ONNX graph has no initializer "${name}"`);
    return t;
  };
  const parts: Float32Array[] = [floats(get('scaler_mean')), floats(get('scaler_std'))];
  const layers: PeerModelMeta['layers'] = [];
  graph.node.forEach((node, i) => {
    if (node.opType !== 'Gemm') return;
    const kernel = get(node.input[1] as string);
    parts.push(floats(kernel), floats(get(node.input[2] as string)));
    const next = graph.node[i + 1];
    const activation =
      next?.input[0] === node.output[0]
        ? ({ Relu: 'relu', Sigmoid: 'sigmoid' }[next.opType] ?? '')
        : 'linear';
    if (!activation) throw new Error(`unsupported activation ${next?.opType} after ${node.name}`);
    layers.push({ inputs: Number(kernel.dims[0]), units: Number(kernel.dims[1]), activation });
  });
  const meta: PeerModelMeta = { ...options, layers };
  writeFileSync(join(dir, 'peer.json'), `${JSON.stringify(meta, null, 2)}\n`);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeFileSync(join(dir, 'weights.f32'), new Uint8Array(all.buffer));
}
