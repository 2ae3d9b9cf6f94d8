import type { ModelDef, TensorDef, ValueInfo } from './onnxProto';

const bytesPerElement: Record<number, number> = { 1: 4, 7: 8, 9: 1 };

/**
 * Structural checks before a file leaves Slipway: unique value names, every node input defined
 * before use (ONNX requires topological order), initializer sizes matching their dims, and
 * declared types and shapes on graph inputs and outputs. Returns the problems found, each
 * naming the value or node; empty when the graph is sound. onnxruntime would also refuse most
 * of these, but with less context, and only once someone tries to load the file.
 */
export function validateOnnxModel(model: ModelDef): string[] {
  const problems: string[] = [];
  const graph = model.graph;
  if (!graph) return ['the model has no graph'];
  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (!name) problems.push(`${what} has an empty name`);
    else if (defined.has(name)) problems.push(`value "${name}" is defined twice (again as ${what})`);
    defined.add(name);
  };
  for (const input of graph.input ?? []) {
    define(input.name, 'graph input');
    checkDeclaredType(input, 'graph input', problems);
  }
  for (const init of graph.initializer ?? []) {
    define(init.name, 'initializer');
    checkInitializer(init, problems);
  }
  for (const node of graph.node ?? []) {
    if (!node.opType) problems.push(`node "${node.name}" has no op type`);
    if (!node.output?.length) problems.push(`node "${node.name}" (${node.opType}) has no output`);
    for (const input of node.input ?? []) {
      // An empty name is how ONNX marks an optional input left out.
      if (input !== '' && !defined.has(input))
        problems.push(
          `node "${node.name}" (${node.opType}) reads "${input}", which is not defined before it`,
        );
    }
    for (const output of node.output ?? []) define(output, `output of node "${node.name}"`);
  }
  const outputs = new Set<string>();
  for (const output of graph.output ?? []) {
    if (outputs.has(output.name)) problems.push(`graph output "${output.name}" is declared twice`);
    outputs.add(output.name);
    if (!defined.has(output.name)) problems.push(`graph output "${output.name}" is never produced`);
    checkDeclaredType(output, 'graph output', problems);
  }
  if (!graph.input?.length) problems.push('the graph has no input');
  if (!graph.output?.length) problems.push('the graph has no output');
  if (!model.opsetImport?.length) problems.push('the model imports no opset');
  return problems;
}

function checkDeclaredType(value: ValueInfo, what: string, problems: string[]): void {
  const tensor = value.type?.tensorType;
  if (!tensor?.elemType) {
    problems.push(`${what} "${value.name}" has no element type`);
    return;
  }
  const dims = tensor.shape?.dim;
  if (!dims?.length) {
    problems.push(`${what} "${value.name}" has no shape`);
    return;
  }
  dims.forEach((d, i) => {
    const fixed = d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0;
    if (!fixed && !d.dimParam)
      problems.push(`${what} "${value.name}" dimension ${i} is neither a size nor a name`);
  });
}

function checkInitializer(init: TensorDef, problems: string[]): void {
  const dims = (init.dims ?? []).map(Number);
  const shape = `[${dims.join(', ')}]`;
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    problems.push(`initializer "${init.name}" has invalid dims ${shape}`);
    return;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const size = bytesPerElement[init.dataType];
  if (size === undefined) {
    problems.push(`initializer "${init.name}" has unsupported data type ${init.dataType}`);
    return;
  }
  const raw = init.rawData?.length ?? 0;
  const typed = (init.floatData?.length ?? 0) + (init.int64Data?.length ?? 0);
  if (raw > 0 && typed > 0) problems.push(`initializer "${init.name}" holds both raw and typed data`);
  const values = raw > 0 ? raw / size : typed;
  if (values !== count) {
    problems.push(
      `initializer "${init.name}" has ${Number.isInteger(values) ? values : `${raw} bytes, not a whole number of`} ` +
        `values but dims ${shape} need ${count}`,
    );
  }
}
