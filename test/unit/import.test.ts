import { describe, expect, it } from 'vitest';
import { checkImportedOnnx } from '../../domain/import/checkImportedOnnx';
import { readDenseGraph } from '../../domain/import/denseGraph';
import { buildOnnxModel, encodeChecked } from '../../domain/onnx/exporter';
import { DataType, decodeModel, encodeModel, type TensorDef } from '../../domain/onnx/onnxProto';
import { BOTNET_FEATURES, externalBotnetOnnx } from '../support/externalOnnx';
import { randomCase } from '../support/randomDense';

const LIMIT = 64 * 1024 * 1024;

function slipwayExport(seed: number) {
  const c = randomCase(seed, { maxWeights: 1 << 14 });
  const bytes = encodeChecked(
    buildOnnxModel({
      layers: c.layers,
      scaler: c.scaler,
      threshold: 0.5,
      opset: 13,
      metadata: {
        modelName: 'm',
        features: c.scaler.features,
        target: 'y',
        producerVersion: '0',
        datasetSha256: 'a'.repeat(64),
        runId: 'r',
      },
    }),
  );
  return { c, bytes };
}

/** A 2-layer MLP as PyTorch or skl2onnx-style converters write it: Gemm with transB = 1, Relu. */
function gemmMlp(nFeatures: number, hidden: number): Uint8Array {
  const floats = (name: string, dims: number[], n: number, scale: number): TensorDef => ({
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(
      Float32Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + 0.3)).buffer,
    ),
  });
  const transB = { name: 'transB', type: 2, i: 1 };
  return encodeModel({
    irVersion: 8,
    producerName: 'pytorch',
    producerVersion: '2.5',
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [],
    graph: {
      name: 'mlp',
      node: [
        { name: 'fc1', opType: 'Gemm', input: ['x', 'w1', 'b1'], output: ['h1'], attribute: [transB] },
        { name: 'relu', opType: 'Relu', input: ['h1'], output: ['a1'] },
        { name: 'fc2', opType: 'Gemm', input: ['a1', 'w2', 'b2'], output: ['z'], attribute: [transB] },
        { name: 'out', opType: 'Sigmoid', input: ['z'], output: ['p'] },
      ],
      initializer: [
        floats('w1', [hidden, nFeatures], hidden * nFeatures, 0.4),
        floats('b1', [hidden], hidden, 0.1),
        floats('w2', [1, hidden], hidden, 0.3),
        floats('b2', [1], 1, 0.05),
      ],
      input: [
        {
          name: 'x',
          type: {
            tensorType: {
              elemType: DataType.FLOAT,
              shape: { dim: [{ dimParam: 'N' }, { dimValue: nFeatures }] },
            },
          },
        },
      ],
      output: [
        {
          name: 'p',
          type: {
            tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } },
          },
        },
      ],
    },
  });
}

describe('the import check against the exact reference', () => {
  it("reads Slipway's own export, scaler included, and finds onnxruntime within its bound", async () => {
    for (const seed of [3, 8, 14]) {
      const { c, bytes } = slipwayExport(seed);
      const reading = readDenseGraph(decodeModel(bytes), 'probability', c.nFeatures);
      expect('network' in reading).toBe(true);
      const facts = await checkImportedOnnx(bytes, { features: c.scaler.features, sizeLimitBytes: LIMIT });
      expect(facts.referenceCheck).toMatchObject({ checked: true, rows: 64, denseLayers: c.layers.length });
      if (facts.referenceCheck.checked) expect(facts.referenceCheck.worstBoundUsed).toBeLessThan(1);
    }
  });

  it('reads a MatMul + Add + Sigmoid file and a Gemm (transB) + Relu stack from other tools', async () => {
    const logistic = await checkImportedOnnx(externalBotnetOnnx(), {
      features: BOTNET_FEATURES,
      sizeLimitBytes: LIMIT,
    });
    expect(logistic.referenceCheck).toMatchObject({ checked: true, denseLayers: 1 });
    const mlp = await checkImportedOnnx(gemmMlp(6, 16), {
      features: ['a', 'b', 'c', 'd', 'e', 'f'],
      sizeLimitBytes: LIMIT,
    });
    expect(mlp.referenceCheck).toMatchObject({ checked: true, denseLayers: 2 });
    if (mlp.referenceCheck.checked) expect(mlp.referenceCheck.worstBoundUsed).toBeLessThan(1);
  });

  it('reads Gemm weights stored transposed (transB = 1) the way onnxruntime uses them', () => {
    // The reader's first layer must be [6 inputs, 16 units]; swapping transB makes it unreadable.
    const decoded = decodeModel(gemmMlp(6, 16));
    const reading = readDenseGraph(decoded, 'p', 6);
    if (!('network' in reading)) throw new Error(reading.reason);
    expect(reading.network.layers.map((l) => [l.inputs, l.units, l.activation])).toEqual([
      [6, 16, 'relu'],
      [16, 1, 'sigmoid'],
    ]);
    const w1 = decoded.graph.initializer.find((t) => t.name === 'w1');
    const stored = new Float32Array(Uint8Array.from(w1?.rawData ?? []).buffer);
    // Stored [units, inputs] (transB = 1): unit 2's weight from input 5 is stored at 2 * 6 + 5.
    expect(reading.network.layers[0]?.kernel[5 * 16 + 2]).toBe(stored[2 * 6 + 5]);
  });

  it('skips, saying why, a graph that is not a sigmoid over dense layers', async () => {
    const facts = await checkImportedOnnx(externalBotnetOnnx({ outputs: 'label-first' }), {
      features: BOTNET_FEATURES,
      outputName: 'probabilities',
      sizeLimitBytes: LIMIT,
    });
    expect(facts.referenceCheck).toEqual({
      checked: false,
      reason:
        'not a dense network the reference reads: its output "probabilities" comes from a Concat node, not from a Sigmoid over dense layers',
    });
  });
});
