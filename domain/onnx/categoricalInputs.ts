import { UNSEEN_CATEGORY_VALUE } from '../ml/categoricalEncoding';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { OnnxExportError } from './errors';
import { BATCH_DIM, INPUT_NAME, tensorType } from './graphParts';
import { AttributeType, DataType, type NodeDef, type TensorDef, type ValueInfo } from './onnxProto';

/**
 * The string-input prelude of Slipway's exported graphs (anomaly and classifier alike): the
 * categorical features come in as text and leave as the float features the model was trained on.
 */

/** ai.onnx.ml opset 2: the first whose LabelEncoder maps strings to floats. */
export const ML_DOMAIN = 'ai.onnx.ml';
export const ML_OPSET = 2;

export interface CategoricalPrelude {
  /** The tensor holding every feature as a float, in feature order: what the scaler reads. */
  features: string;
  inputs: ValueInfo[];
  /** A sentence for the model's doc string ('' without categorical features). */
  doc: string;
  /** The `slipway.categorical` metadata value (absent without categorical features). */
  categorical?: string;
}

/**
 * The graph's inputs and, for categorical features, the nodes that turn them into the model's
 * float features: one string input [N, 1] per categorical feature (named by its column, as
 * skl2onnx names the inputs of a mixed pipeline) through an ai.onnx.ml LabelEncoder (category ->
 * training frequency, any other string -> 0: an unseen category never fails), the numeric features
 * as one float input [N, numeric], concatenated and put back in feature order by a Gather.
 * Without categorical features it is the one float input [N, features], read as is.
 * `reserved` tells whether a name is one of the calling graph's own tensors (a categorical input
 * may not take it).
 */
export function categoricalInputs(
  scaler: StandardScalerParams,
  node: NodeDef[],
  initializer: TensorDef[],
  reserved: (name: string) => boolean,
): CategoricalPrelude {
  const nFeatures = scaler.features.length;
  const columns = scaler.categorical?.columns ?? [];
  if (columns.length === 0) {
    return {
      features: INPUT_NAME,
      inputs: [{ name: INPUT_NAME, type: tensorType([BATCH_DIM, nFeatures]) }],
      doc: '',
    };
  }
  const categoricalAt = new Set(columns.map((c) => c.index));
  const numeric = scaler.features.filter((_, j) => !categoricalAt.has(j));
  const clash = columns.find(
    (c) =>
      c.feature === INPUT_NAME ||
      /^(category_|encoded_|feature_order)/.test(c.feature) ||
      reserved(c.feature),
  );
  if (clash) {
    throw new OnnxExportError(
      'InvalidExportInput',
      `The categorical feature "${clash.feature}" would be an input of the exported graph with the name of one of ` +
        'its own tensors. Rename the column (for example with a prefix) and run again.',
    );
  }
  const inputs: ValueInfo[] =
    numeric.length > 0 ? [{ name: INPUT_NAME, type: tensorType([BATCH_DIM, numeric.length]) }] : [];
  const pieces = numeric.length > 0 ? [INPUT_NAME] : [];
  // Where each feature lands in the concatenation: numeric ones first, then one column per category input.
  const position = new Array<number>(nFeatures);
  let next = 0;
  scaler.features.forEach((_, j) => {
    if (!categoricalAt.has(j)) position[j] = next++;
  });
  columns.forEach((column, k) => {
    position[column.index] = next++;
    const seen = column.categories.flatMap((category, code) =>
      (column.frequencies[code] as number) > 0
        ? [{ category, frequency: column.frequencies[code] as number }]
        : [],
    );
    const output = `category_${k}_frequency`;
    inputs.push({ name: column.feature, type: tensorType([BATCH_DIM, 1], DataType.STRING) });
    node.push({
      name: `category_${k}_encoder`,
      opType: 'LabelEncoder',
      domain: ML_DOMAIN,
      input: [column.feature],
      output: [output],
      attribute: [
        {
          name: 'keys_strings',
          type: AttributeType.STRINGS,
          strings: seen.map((s) => Buffer.from(s.category, 'utf8')),
        },
        { name: 'values_floats', type: AttributeType.FLOATS, floats: seen.map((s) => s.frequency) },
        { name: 'default_float', type: AttributeType.FLOAT, f: UNSEEN_CATEGORY_VALUE },
      ],
    });
    pieces.push(output);
  });
  initializer.push({
    name: 'feature_order',
    dims: [nFeatures],
    dataType: DataType.INT64,
    rawData: new Uint8Array(BigInt64Array.from(position, (p) => BigInt(p)).buffer),
  });
  node.push(
    {
      name: 'encoded_concat',
      opType: 'Concat',
      input: pieces,
      output: ['encoded_unordered'],
      attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }],
    },
    {
      name: 'encoded_order',
      opType: 'Gather',
      input: ['encoded_unordered', 'feature_order'],
      output: ['encoded_features'],
      attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }],
    },
  );
  const names = columns.map((c) => c.feature);
  return {
    features: 'encoded_features',
    inputs,
    doc:
      `Inputs: ${numeric.length > 0 ? `${INPUT_NAME} float32 [N, ${numeric.length}] (${numeric.join(', ')}), ` : ''}` +
      `and one string tensor [N, 1] per categorical feature (${names.join(', ')}), frequency-encoded inside the graph ` +
      '(share of training rows; a category not seen in training is 0). ',
    categorical: JSON.stringify(
      columns.map((c) => ({
        feature: c.feature,
        encoding: 'frequency',
        categories: c.frequencies.filter((f) => f > 0).length,
      })),
    ),
  };
}
