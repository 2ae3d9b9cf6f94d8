import { DataType, decodeModel, encodeModel, type ModelDef, type NodeDef } from '../onnx/onnxProto';
import { EXPLAIN_INPUT } from './rescaleGraph';

/**
 * Explanations of a model that takes categorical features as text. Slipway's exports turn each
 * categorical feature's string input into one float (its training frequency, an ai.onnx.ml
 * LabelEncoder) and put it back in feature order beside the numeric ones (categoricalInputs.ts,
 * the "prelude"); the scaler and the dense layers read that tensor. So the dense part is
 * explained as for numeric features, over the encoded row, and a categorical feature is one
 * feature with one contribution: how far its category's frequency, as the network responds to
 * it, moves the probability from the baseline (the training mean of the encoded values). The
 * contributions still sum to p(row) - p(baseline), since nothing before the scaler is explained.
 *
 * An encoding that spreads a category over several columns (one-hot, skl2onnx's OneHotEncoder)
 * does not give one column per feature; such graphs are refused by the width check of the dense
 * reading (the first layer takes more values than there are features), with the reason.
 */

/** A graph's categorical prelude: the nodes from its inputs to the float features the scaler reads. */
export interface CategoricalPrelude {
  /** The tensor holding every feature as a float, in feature order. */
  encoded: string;
  /** The string inputs (named after their features), in graph order. */
  categorical: string[];
  model: ModelDef;
  nodes: NodeDef[];
}

/**
 * The prelude of `model` when it takes some of `features` as string inputs: the tensor its
 * dense part starts from is the one output of the nodes that read every input (graph inputs,
 * string and float) and nothing else. Returns a reason when the graph has string inputs but no
 * such tensor; undefined when it has no string input of a feature.
 */
export function readCategoricalPrelude(
  onnx: Uint8Array,
  features: string[],
): CategoricalPrelude | { reason: string } | undefined {
  const model = decodeModel(onnx);
  const { graph } = model;
  const constants = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((i) => !constants.has(i.name));
  const categorical = inputs
    .filter((i) => i.type?.tensorType?.elemType === DataType.STRING && features.includes(i.name))
    .map((i) => i.name);
  if (categorical.length === 0) return undefined;
  const inputNames = new Set(inputs.map((i) => i.name));
  // The nodes reachable from the inputs through nodes whose every input is an input, a constant
  // or such a node's output: the encoding stage. Its last output, read past it, is the start.
  const known = new Set([...inputNames, ...constants]);
  const nodes: NodeDef[] = [];
  const preludeOps = new Set(['LabelEncoder', 'Concat', 'Gather', 'Cast', 'Identity']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const node of graph.node) {
      if (nodes.includes(node) || !preludeOps.has(node.opType)) continue;
      if (!node.input.every((name) => name === '' || known.has(name))) continue;
      nodes.push(node);
      for (const out of node.output) known.add(out);
      grew = true;
    }
  }
  const produced = new Set(nodes.flatMap((n) => n.output));
  const readLater = graph.node.filter((n) => !nodes.includes(n)).flatMap((n) => n.input);
  const starts = [...produced].filter((name) => readLater.includes(name));
  const usesInputsLater = readLater.filter((name) => inputNames.has(name));
  if (starts.length !== 1 || usesInputsLater.length > 0) {
    return {
      reason:
        `its categorical inputs (${categorical.join(', ')}) do not meet in one float tensor that the rest of the graph ` +
        "reads (Slipway's exports: an ai.onnx.ml LabelEncoder per categorical feature, then Concat and Gather)",
    };
  }
  return { encoded: starts[0] as string, categorical, model, nodes };
}

/**
 * The explainer graph (rescaleGraph.ts, built over the encoded features) with the model's prelude
 * in front: it takes the model's own inputs (numeric block and string inputs) and gives
 * `probability` and `contribution` [N, features] as the numeric explainer does.
 */
export function withPrelude(explainer: Uint8Array, prelude: CategoricalPrelude): Uint8Array {
  const model = decodeModel(explainer);
  const { graph } = model;
  const source = prelude.model.graph;
  const used = new Set(prelude.nodes.flatMap((n) => n.input));
  // The explainer and the model were built by the same graph parts (and a third-party model may
  // use any names), so a tensor the prelude brings in may share a name with one of ours: such
  // prelude tensors are renamed, the graph inputs (the model's own input names) never are.
  const ours = new Set([...graph.node.flatMap((n) => n.output), ...graph.initializer.map((t) => t.name)]);
  const initializers = source.initializer.filter((t) => used.has(t.name));
  const brought = [...prelude.nodes.flatMap((n) => n.output), ...initializers.map((t) => t.name)];
  const renamed = new Map<string, string>();
  for (const name of brought) {
    if (!ours.has(name) || name === EXPLAIN_INPUT) continue;
    let fresh = `prelude_${name}`;
    while (ours.has(fresh) || brought.includes(fresh)) fresh = `prelude_${fresh}`;
    renamed.set(name, fresh);
  }
  const rename = (name: string) => renamed.get(name) ?? name;
  const nodes = prelude.nodes.map((n) => ({
    ...n,
    input: n.input.map(rename),
    output: n.output.map(rename),
  }));
  const encoded = rename(prelude.encoded);
  for (const node of graph.node) node.input = node.input.map((n) => (n === EXPLAIN_INPUT ? encoded : n));
  graph.node = [...nodes, ...graph.node];
  graph.initializer = [...initializers.map((t) => ({ ...t, name: rename(t.name) })), ...graph.initializer];
  const constants = new Set(source.initializer.map((t) => t.name));
  graph.input = source.input.filter((i) => !constants.has(i.name));
  const domains = new Map(model.opsetImport.map((o) => [o.domain ?? '', o]));
  for (const o of prelude.model.opsetImport) if (!domains.has(o.domain ?? '')) domains.set(o.domain ?? '', o);
  model.opsetImport = [...domains.values()];
  return encodeModel(model);
}
