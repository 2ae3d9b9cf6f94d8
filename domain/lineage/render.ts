import {
  type ArtifactNode,
  type ExecutionNode,
  type LineageGraph,
  type LineageNode,
  type ModelNode,
  modelVersions,
} from './graph';

export const lineageFormats = ['text', 'tree', 'json', 'dot', 'mermaid'] as const;
export type LineageFormat = (typeof lineageFormats)[number];

export function renderLineage(graph: LineageGraph, format: LineageFormat): string {
  switch (format) {
    case 'text':
      return graph.direction === 'downstream' ? renderDownstreamSummary(graph) : renderText(graph);
    case 'tree':
      return renderText(graph);
    case 'json':
      return `${JSON.stringify(graph, null, 2)}\n`;
    case 'dot':
      return renderDot(graph);
    case 'mermaid':
      return renderMermaid(graph);
  }
}

/**
 * A downstream answer for people: what it started from, then one line per model version built
 * from it (when it was registered, by which run). The tree of every step and artifact in between
 * grows with each run, so it is `--format tree`.
 */
export function renderDownstreamSummary(graph: LineageGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const roots = graph.roots.map((id) => byId.get(id)).filter((n): n is LineageNode => n !== undefined);
  const models = graph.nodes
    .filter((n): n is ModelNode => n.type === 'model')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version));
  const lines = roots.map((n) => `From ${nodeText(n, undefined)}`);
  lines.push(`Model versions built from it: ${models.length === 0 ? 'none' : models.length}`);
  for (const m of models) {
    const run = graph.edges
      .filter((e) => e.to === m.id)
      .map((e) => byId.get(e.from))
      .find((n): n is ExecutionNode => n?.type === 'execution');
    lines.push(
      `  ${m.name}@${m.version}  registered ${m.registeredAt}${run ? `  by run ${run.workflowId}` : ''}`,
    );
  }
  if (models.length > 0)
    lines.push('(--format tree shows every step and artifact in between; json, dot or mermaid the graph)');
  return `${lines.join('\n')}\n`;
}

/**
 * An indented tree from each root: for an upstream graph a node's children are what it was made
 * from, for a downstream graph what was made from it. A node met a second time (the dataset
 * snapshot feeds several steps) is printed once in full and then marked "(see above)".
 */
export function renderText(graph: LineageGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const upstream = graph.direction === 'upstream';
  const children = new Map<string, { id: string; role: string }[]>();
  for (const edge of graph.edges) {
    const [parent, child] = upstream ? [edge.to, edge.from] : [edge.from, edge.to];
    const list = children.get(parent) ?? [];
    list.push({ id: child, role: edge.role });
    children.set(parent, list);
  }
  const printed = new Set<string>();
  const lines: string[] = [];

  const visit = (
    id: string,
    role: string | undefined,
    prefix: string,
    connector: string,
    childPrefix: string,
  ) => {
    const node = byId.get(id);
    if (!node) return;
    const again = printed.has(id);
    // Upstream, an artifact's role is how its consumer (the parent) used it; downstream, how its
    // producer (the parent) wrote it. Either way the edge to the parent names it.
    lines.push(
      `${prefix}${connector}${again ? `${shortText(node, role)} (see above)` : nodeText(node, role)}`,
    );
    if (again) return;
    printed.add(id);
    const kids = children.get(id) ?? [];
    kids.forEach((kid, i) => {
      const last = i === kids.length - 1;
      visit(kid.id, kid.role, prefix + childPrefix, last ? '└── ' : '├── ', last ? '    ' : '│   ');
    });
  };
  if (!upstream) {
    const models = modelVersions(graph).map((m) => `${m.name}@${m.version}`);
    lines.push(`Model versions built from it: ${models.length === 0 ? 'none' : models.join(', ')}`);
  }
  for (const root of graph.roots) visit(root, undefined, '', '', '');
  return `${lines.join('\n')}\n`;
}

/** Enough to find the node's full line above. */
function shortText(node: LineageNode, role: string | undefined): string {
  switch (node.type) {
    case 'model':
      return `${node.name}@${node.version}`;
    case 'execution':
      return `${node.step}: attempt ${node.attempt}, run ${node.workflowId}/${node.runId}`;
    case 'artifact':
      return `${role === undefined ? '' : `${role}: `}${node.kind} sha256:${node.sha256}`;
  }
}

function nodeText(node: LineageNode, role: string | undefined): string {
  switch (node.type) {
    case 'model':
      return `${node.name}@${node.version} (model version, registered ${node.registeredAt})`;
    case 'execution':
      return `${node.step}: ${executionFacts(node).join(', ')}`;
    case 'artifact':
      return `${role === undefined ? '' : `${role}: `}${artifactFacts(node).join(' ')}`;
  }
}

function executionFacts(node: ExecutionNode): string[] {
  const facts = [`attempt ${node.attempt}`, node.outcome, `run ${node.workflowId}/${node.runId}`];
  facts.push(`code ${node.codeVersion}`);
  if (node.worker !== undefined) facts.push(`worker ${node.worker}`);
  facts.push(
    node.endedAt === undefined ? `started ${node.startedAt}` : `${node.startedAt} to ${node.endedAt}`,
  );
  return facts;
}

function artifactFacts(node: ArtifactNode): string[] {
  return [
    node.kind,
    `sha256:${node.sha256}`,
    `(${node.bytes} bytes)`,
    node.uri,
    ...(node.alsoAt ?? []).map((uri) => `also at ${uri}`),
  ];
}

/** Graphviz: artifacts as notes, executions as rounded boxes, model versions as double octagons. */
export function renderDot(graph: LineageGraph): string {
  const index = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['digraph lineage {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];'];
  graph.nodes.forEach((node, i) => {
    const shape =
      node.type === 'artifact'
        ? 'shape=note'
        : node.type === 'execution'
          ? 'shape=box, style=rounded'
          : 'shape=doubleoctagon';
    lines.push(`  n${i} [${shape}, label="${diagramLines(node).map(dotEscape).join('\\n')}"];`);
  });
  for (const edge of graph.edges) {
    lines.push(`  ${index.get(edge.from)} -> ${index.get(edge.to)} [label="${dotEscape(edge.role)}"];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid flowchart: artifacts as cylinders, executions as boxes, model versions as hexagons. */
export function renderMermaid(graph: LineageGraph): string {
  const index = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['flowchart LR'];
  graph.nodes.forEach((node, i) => {
    const label = `"${diagramLines(node).map(mermaidEscape).join('<br/>')}"`;
    const shaped =
      node.type === 'artifact' ? `[(${label})]` : node.type === 'execution' ? `[${label}]` : `{{${label}}}`;
    lines.push(`  n${i}${shaped}`);
  });
  for (const edge of graph.edges) {
    lines.push(`  ${index.get(edge.from)} -->|${mermaidEscape(edge.role)}| ${index.get(edge.to)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The lines of a node's label in a diagram: the full sha256 of every artifact, on its own line. */
function diagramLines(node: LineageNode): string[] {
  switch (node.type) {
    case 'model':
      return [`${node.name}@${node.version}`, `registered ${node.registeredAt}`];
    case 'execution':
      return [
        `${node.step} (attempt ${node.attempt}, ${node.outcome})`,
        `run ${node.workflowId}/${node.runId}`,
        `code ${node.codeVersion}`,
      ];
    case 'artifact':
      return [
        `${node.kind} (${node.bytes} bytes)`,
        `sha256:${node.sha256}`,
        node.uri,
        ...(node.alsoAt ?? []),
      ];
  }
}

function dotEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Mermaid reads entity codes like #quot; inside labels; these are the characters it would misparse. */
function mermaidEscape(text: string): string {
  return text.replace(/[#"<>&|]/g, (c) => `#${c.charCodeAt(0)};`);
}
