import type { LineageGraph, LineageNode } from '../domain/lineage/graph';
import { escapeXml } from '../domain/report/svgCharts';

const BOX_W = 210;
const BOX_H = 58;
const COL_GAP = 80;
const ROW_GAP = 22;
const MARGIN = 16;
const LINE_CHARS = 32;

/**
 * A lineage graph as an inline SVG, drawn server-side with a simple layered layout (no script, no
 * layout library): each node's column is its longest distance from a source, so data flows left to
 * right and every edge points forward; within a column nodes are ordered by the mean row of what
 * feeds them, which keeps a pipeline's chain mostly straight. Full details are in each node's
 * <title> (shown on hover); the box shows a short form.
 */
export function renderLineageSvg(graph: LineageGraph): string {
  const columns = layerNodes(graph);
  const position = new Map<string, { x: number; y: number }>();
  columns.forEach((column, c) => {
    column.forEach((node, r) => {
      position.set(node.id, { x: MARGIN + c * (BOX_W + COL_GAP), y: MARGIN + r * (BOX_H + ROW_GAP) });
    });
  });
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const width = MARGIN * 2 + columns.length * BOX_W + Math.max(0, columns.length - 1) * COL_GAP;
  const height = MARGIN * 2 + rows * BOX_H + (rows - 1) * ROW_GAP;

  const edges = graph.edges.flatMap((edge) => {
    const from = position.get(edge.from);
    const to = position.get(edge.to);
    if (!from || !to) return [];
    const x1 = from.x + BOX_W;
    const y1 = from.y + BOX_H / 2;
    const x2 = to.x;
    const y2 = to.y + BOX_H / 2;
    const bend = Math.max(30, (x2 - x1) / 2);
    return [
      `<g class="edge"><path d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>` +
        `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" text-anchor="middle">${escapeXml(edge.role)}</text></g>`,
    ];
  });
  const nodes = graph.nodes.flatMap((node) => {
    const p = position.get(node.id);
    if (!p) return [];
    const [head, ...rest] = boxLines(node);
    return [
      `<g class="node ${node.type}" data-node-type="${node.type}" transform="translate(${p.x},${p.y})">` +
        `<title>${escapeXml(titleOf(node))}</title>` +
        `<rect width="${BOX_W}" height="${BOX_H}" rx="${node.type === 'execution' ? 10 : 3}"/>` +
        `<text x="10" y="20" class="head">${escapeXml(clip(head ?? ''))}</text>` +
        rest.map((line, i) => `<text x="10" y="${37 + i * 14}">${escapeXml(clip(line))}</text>`).join('') +
        '</g>',
    ];
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" data-chart="lineage" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<title>Lineage: ${graph.nodes.length} nodes, ${graph.edges.length} edges</title>` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
    '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>' +
    edges.join('') +
    nodes.join('') +
    '</svg>'
  );
}

/** Columns of nodes: longest-path layering, then one barycentre pass per column. */
function layerNodes(graph: LineageGraph): LineageNode[][] {
  const incoming = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  const outgoing = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) {
    if (!incoming.has(e.to) || !outgoing.has(e.from)) continue;
    incoming.get(e.to)?.push(e.from);
    outgoing.get(e.from)?.push(e.to);
  }
  // Kahn's order; lineage is acyclic, but a damaged store must not hang the page, so anything
  // left over (a cycle) simply stays in column 0.
  const layer = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  const waiting = new Map([...incoming].map(([id, from]) => [id, from.length]));
  const ready = graph.nodes.filter((n) => waiting.get(n.id) === 0).map((n) => n.id);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    for (const next of outgoing.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (waiting.get(next) ?? 1) - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  const columns: LineageNode[][] = [];
  for (const node of graph.nodes) {
    const c = layer.get(node.id) ?? 0;
    while (columns.length <= c) columns.push([]);
    columns[c]?.push(node);
  }
  const row = new Map<string, number>();
  columns.forEach((column, c) => {
    if (c > 0) {
      const centre = (n: LineageNode) => {
        const rows = (incoming.get(n.id) ?? []).map((p) => row.get(p)).filter((r) => r !== undefined);
        return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
      };
      column.sort((a, b) => centre(a) - centre(b));
    }
    column.forEach((n, r) => row.set(n.id, r));
  });
  return columns;
}

function boxLines(node: LineageNode): string[] {
  switch (node.type) {
    case 'model':
      return [
        `${node.name}@${node.version}`,
        'model version',
        node.registeredAt.slice(0, 19).replace('T', ' '),
      ];
    case 'execution':
      return [node.step, `attempt ${node.attempt}, ${node.outcome}`, node.workflowId];
    case 'artifact':
      return [node.kind, `sha256:${node.sha256.slice(0, 12)}…`, `${node.bytes} bytes`];
  }
}

function titleOf(node: LineageNode): string {
  switch (node.type) {
    case 'model':
      return `model version ${node.name}@${node.version}, registered ${node.registeredAt}`;
    case 'execution':
      return [
        `${node.step}: attempt ${node.attempt}, ${node.outcome}`,
        `run ${node.workflowId}/${node.runId}`,
        `code ${node.codeVersion}`,
        ...(node.worker === undefined ? [] : [`worker ${node.worker}`]),
        `${node.startedAt}${node.endedAt === undefined ? '' : ` to ${node.endedAt}`}`,
      ].join('\n');
    case 'artifact':
      return [
        `${node.kind} (${node.bytes} bytes)`,
        `sha256:${node.sha256}`,
        node.uri,
        ...(node.alsoAt ?? []).map((u) => `also at ${u}`),
      ].join('\n');
  }
}

const clip = (text: string) => (text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS - 1)}…` : text);
