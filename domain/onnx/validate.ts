import type { ModelDef } from './onnxProto';

const bytesPerElement: Record<number, number> = { 1: 4, 7: 8, 9: 1 };

/**
 * Structural checks before a file leaves Slipway: unique value names, every node input defined
 * before use, initializer sizes matching their dims, and declared types on graph inputs and
 * outputs. Returns the problems found (empty when the graph is sound).
 */
export function validateOnnxModel(model: ModelDef): string[] {
  const problems: string[] = [];
  const graph = model.graph;
  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (defined.has(name)) problems.push(`value "${name}" is defined twice (${what})`);
    defined.add(name);
  };
  for (const input of graph.input ?? []) {
    define(input.name, 'graph input');
    if (!input.type?.tensorType?.elemType) problems.push(`graph input "${input.name}" has no element type`);
  }
  for (const init of graph.initializer ?? []) {
    define(init.name, 'initializer');
    const count = (init.dims ?? []).reduce((a, b) => a * Number(b), 1);
    const size = bytesPerElement[init.dataType];
    const length = init.rawData?.length ?? 0;
    if (size === undefined)
      problems.push(`initializer "${init.name}" has unsupported data type ${init.dataType}`);
    else if (length !== count * size) {
      problems.push(
        `initializer "${init.name}" has ${length / size} values but dims [${(init.dims ?? []).join(', ')}] need ${count}`,
      );
    }
  }
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) {
      if (input !== '' && !defined.has(input))
        problems.push(
          `node "${node.name}" (${node.opType}) reads "${input}", which is not defined before it`,
        );
    }
    for (const output of node.output ?? []) define(output, `output of node "${node.name}"`);
  }
  for (const output of graph.output ?? []) {
    if (!defined.has(output.name)) problems.push(`graph output "${output.name}" is never produced`);
    if (!output.type?.tensorType?.elemType)
      problems.push(`graph output "${output.name}" has no element type`);
  }
  if (!model.opsetImport?.length) problems.push('the model imports no opset');
  return problems;
}
