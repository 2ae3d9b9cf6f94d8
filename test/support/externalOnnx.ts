import {
  DataType,
  encodeModel,
  type NodeDef,
  type TensorDef,
  type ValueInfo,
} from '../../domain/onnx/onnxProto';
import { gaussian, mulberry32 } from '../../domain/random';

/** The netflow aggregates of issue 13's hand-over, in the order the security team's model takes them. */
export const BOTNET_FEATURES = [
  'avgBytes',
  'avgDuration',
  'numFlows',
  'sumBytes',
  'uniqueDstIp',
  'uniqueDstPort',
  'uniqueProtocols',
];
/** The weights of the "security team's" logistic model: botnets fan out to many hosts and ports. */
export const BOTNET_WEIGHTS = [0.2, -0.8, 0.4, 0.1, 1.6, 1.1, 0.3];
export const BOTNET_BIAS = -1.5;

export interface ExternalOnnxOptions {
  /** Input width; the botnet feature count unless a test wants a mismatch. */
  width?: number;
  opset?: number;
  /**
   * probability-first: outputs botnet_probability [N, 1] then logit [N, 1];
   * label-first: as converters of other libraries write classifiers, label (int64) then
   * probabilities [N, 2] (class 0, class 1).
   */
  outputs?: 'probability-first' | 'label-first';
  /** Extra unused float weights, to make a file of a given size. */
  paddingFloats?: number;
}

/**
 * An ONNX file as a tool outside Slipway would write it: its own input and output names, no
 * Slipway metadata, a plain logistic model (MatMul, Add, Sigmoid) over raw netflow features.
 */
export function externalBotnetOnnx(options: ExternalOnnxOptions = {}): Uint8Array {
  const width = options.width ?? BOTNET_FEATURES.length;
  const weights = Array.from(
    { length: width },
    (_, i) => BOTNET_WEIGHTS[i % BOTNET_WEIGHTS.length] as number,
  );
  const floats = (name: string, dims: number[], values: number[]): TensorDef => ({
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(new Float32Array(values).buffer),
  });
  const initializer: TensorDef[] = [floats('W', [width, 1], weights), floats('B', [1], [BOTNET_BIAS])];
  if (options.paddingFloats) {
    initializer.push({
      name: 'unused_padding',
      dims: [options.paddingFloats],
      dataType: DataType.FLOAT,
      rawData: new Uint8Array(options.paddingFloats * 4),
    });
  }
  const node: NodeDef[] = [
    { name: 'matmul', opType: 'MatMul', input: ['netflow', 'W'], output: ['xw'] },
    { name: 'add', opType: 'Add', input: ['xw', 'B'], output: ['logit'] },
    { name: 'sigmoid', opType: 'Sigmoid', input: ['logit'], output: ['botnet_probability'] },
  ];
  let output: ValueInfo[];
  if (options.outputs === 'label-first') {
    initializer.push(floats('one', [1], [1]), floats('half', [1], [0.5]));
    node.push(
      { name: 'negative', opType: 'Sub', input: ['one', 'botnet_probability'], output: ['q'] },
      {
        name: 'pair',
        opType: 'Concat',
        input: ['q', 'botnet_probability'],
        output: ['probabilities'],
        attribute: [{ name: 'axis', type: 2, i: 1 }],
      },
      {
        name: 'decide',
        opType: 'GreaterOrEqual',
        input: ['botnet_probability', 'half'],
        output: ['decided'],
      },
      {
        name: 'cast',
        opType: 'Cast',
        input: ['decided'],
        output: ['label'],
        attribute: [{ name: 'to', type: 2, i: DataType.INT64 }],
      },
    );
    output = [tensor('label', DataType.INT64, 1), tensor('probabilities', DataType.FLOAT, 2)];
  } else {
    output = [tensor('botnet_probability', DataType.FLOAT, 1), tensor('logit', DataType.FLOAT, 1)];
  }
  return encodeModel({
    irVersion: 8,
    producerName: 'netflow-lab',
    producerVersion: '0.3',
    graph: {
      name: 'nn_botnet',
      node,
      initializer,
      input: [tensor('netflow', DataType.FLOAT, width)],
      output,
    },
    opsetImport: [{ domain: '', version: options.opset ?? 15 }],
    metadataProps: [],
  });
}

function tensor(name: string, elemType: number, width: number): ValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

/** What the model gives for one row, computed independently in float64. */
export function botnetProbability(row: number[]): number {
  const z = row.reduce((sum, v, i) => sum + v * (BOTNET_WEIGHTS[i] as number), BOTNET_BIAS);
  return 1 / (1 + Math.exp(-z));
}

/**
 * Labelled netflow rows (standardised values) whose label follows the model's rule plus noise,
 * so the model scores well but not perfectly on them. Columns: the features, then `botnet`.
 */
export function netflowCsv(
  rows: number,
  seed: number,
): { csv: string; features: number[][]; labels: number[] } {
  const gauss = gaussian(mulberry32(seed));
  const features: number[][] = [];
  const labels: number[] = [];
  const lines = [[...BOTNET_FEATURES, 'botnet'].join(',')];
  for (let i = 0; i < rows; i++) {
    const row = BOTNET_FEATURES.map(() => Number(gauss().toFixed(4)));
    const label = botnetProbability(row) + 0.15 * gauss() >= 0.5 ? 1 : 0;
    features.push(row);
    labels.push(label);
    lines.push([...row, label].join(','));
  }
  return { csv: `${lines.join('\n')}\n`, features, labels };
}
