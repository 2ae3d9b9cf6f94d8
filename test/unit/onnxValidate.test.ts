import { describe, expect, it } from 'vitest';
import type { DenseLayerWeights } from '../../domain/onnx/denseLayers';
import { OnnxExportError } from '../../domain/onnx/errors';
import { buildOnnxModel, encodeChecked } from '../../domain/onnx/exporter';
import { decodeModel, type ModelDef } from '../../domain/onnx/onnxProto';
import { runOnnx } from '../../domain/onnx/parity';
import { validateOnnxModel } from '../../domain/onnx/validate';
import { testMetadata } from '../support/onnxFixtures';
import { thrownBy } from '../support/rejection';

const features = ['a', 'b', 'c'];

/** A tiny graph from hand-made weights: 3 features -> Dense(2, relu) -> Dense(1, sigmoid). */
function smallModel(): ModelDef {
  const layers: DenseLayerWeights[] = [
    {
      name: 'dense_0',
      inputs: 3,
      units: 2,
      activation: 'relu',
      kernel: Float32Array.of(1, -1, 0.5, 2, -0.25, 0),
      bias: Float32Array.of(0.1, -0.2),
    },
    {
      name: 'dense_1',
      inputs: 2,
      units: 1,
      activation: 'sigmoid',
      kernel: Float32Array.of(1.5, -0.75),
      bias: Float32Array.of(0.05),
    },
  ];
  return buildOnnxModel({
    layers,
    scaler: { kind: 'standard', features, mean: [1, 10, 100], std: [2, 4, 8] },
    threshold: 0.5,
    metadata: testMetadata(features),
    opset: 13,
  });
}

describe('structural validation', () => {
  it('passes a sound graph, before and after encoding, and the graph computes what the weights say', async () => {
    const model = smallModel();
    expect(validateOnnxModel(model)).toEqual([]);
    const bytes = encodeChecked(model);
    expect(validateOnnxModel(decodeModel(bytes))).toEqual([]);
    // By hand: scaled = ((3, 18, 108) - mean) / std = (1, 2, 1); hidden = relu(scaled @ K0 + b0).
    const [s0, s1, s2] = [1, 2, 1];
    const h0 = Math.max(0, s0 * 1 + s1 * 0.5 + s2 * -0.25 + 0.1);
    const h1 = Math.max(0, s0 * -1 + s1 * 2 + s2 * 0 - 0.2);
    const p = 1 / (1 + Math.exp(-(h0 * 1.5 + h1 * -0.75 + 0.05)));
    const out = await runOnnx(bytes, Float32Array.of(3, 18, 108), 1, 3);
    expect(out.probability[0]).toBeCloseTo(p, 6);
    expect(out.label[0]).toBe(p >= 0.5 ? 1n : 0n);
  });

  it('names a duplicate value', () => {
    const m = smallModel();
    m.graph.initializer.push({ ...(m.graph.initializer[0] as ModelDef['graph']['initializer'][number]) });
    expect(validateOnnxModel(m)).toContain('value "scaler_mean" is defined twice (again as initializer)');
  });

  it('names a node input that nothing defines, or that is defined only later', () => {
    const m = smallModel();
    (m.graph.node[1] as ModelDef['graph']['node'][number]).input = ['nowhere', 'scaler_std'];
    expect(validateOnnxModel(m)).toContain(
      'node "scaler_scale" (Div) reads "nowhere", which is not defined before it',
    );
    const swapped = smallModel();
    swapped.graph.node.reverse();
    expect(validateOnnxModel(swapped).join('\n')).toMatch(
      /node "label_cast" \(Cast\) reads "is_positive", which is not defined before it/,
    );
  });

  it('names an initializer whose data does not match its dims', () => {
    const m = smallModel();
    (m.graph.initializer[0] as ModelDef['graph']['initializer'][number]).dims = [4];
    expect(validateOnnxModel(m)).toContain('initializer "scaler_mean" has 3 values but dims [4] need 4');
    const odd = smallModel();
    const kernel = odd.graph.initializer.find((t) => t.name === 'dense_0_kernel');
    if (!kernel?.rawData) throw new Error('no kernel');
    kernel.rawData = kernel.rawData.subarray(0, 10);
    expect(validateOnnxModel(odd)).toContain(
      'initializer "dense_0_kernel" has 10 bytes, not a whole number of values but dims [3, 2] need 6',
    );
  });

  it('names graph inputs and outputs without a type or shape, and outputs never produced', () => {
    const m = smallModel();
    (m.graph.output[0] as { type: unknown }).type = {};
    (m.graph.input[0] as { type: unknown }).type = { tensorType: { elemType: 1 } };
    m.graph.output.push({
      name: 'ghost',
      type: m.graph.output[1]?.type as ModelDef['graph']['output'][0]['type'],
    });
    const problems = validateOnnxModel(m);
    expect(problems).toContain('graph output "probability" has no element type');
    expect(problems).toContain('graph input "features" has no shape');
    expect(problems).toContain('graph output "ghost" is never produced');
  });

  it('makes the encoder refuse a broken graph with OnnxStructureError', () => {
    const m = smallModel();
    (m.graph.node[0] as ModelDef['graph']['node'][number]).output = ['scaled'];
    const caught = thrownBy(() => encodeChecked(m));
    expect(caught).toBeInstanceOf(OnnxExportError);
    expect(caught.type).toBe('OnnxStructureError');
    expect(caught.message).toMatch(/value "scaled" is defined twice/);
    expect(caught.message).toMatch(/reads "centered", which is not defined/);
  });
});
