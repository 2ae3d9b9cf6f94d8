import type { LineageGraph, LineageNode } from '../domain/lineage/graph';
import { escapeXml } from '../domain/report/svgCharts';

const BOX_W = 210;
const BOX_H = 58;
const H_GAP = 30;
const V_GAP = 46;
const MARGIN = 16;
const LINE_CHARS = 32;

/**
 * A lineage graph as an inline SVG, drawn server-side with a simple layered layout (no script, no
 * layout library): each node's row is its longest distance from a source, so data flows top to
 * bottom (a pipeline is a long chain; down the page it fits, across it would not) and every edge
 * points down; within a row nodes are ordered by the mean position of what feeds them, which keeps
 * the chain mostly straight, and each row is centred. Full details are in each node's <title>
 * (shown on hover); the box shows a short form.
 */
export function renderLineageSvg(graph: LineageGraph): string {
  const layers = layerNodes(graph);
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const rowWidth = (n: number) => n * BOX_W + Math.max(0, n - 1) * H_GAP;
  const position = new Map<string, { x: number; y: number }>();
  layers.forEach((layer, r) => {
    const offset = (rowWidth(widest) - rowWidth(layer.length)) / 2;
    layer.forEach((node, i) => {
      position.set(node.id, { x: MARGIN + offset + i * (BOX_W + H_GAP), y: MARGIN + r * (BOX_H + V_GAP) });
    });
  });
  const width = MARGIN * 2 + rowWidth(widest);
  const height = MARGIN * 2 + layers.length * BOX_H + Math.max(0, layers.length - 1) * V_GAP;

  const edges = graph.edges.flatMap((edge) => {
    const from = position.get(edge.from);
    const to = position.get(edge.to);
    if (!from || !to) return [];
    const x1 = from.x + BOX_W / 2;
    const y1 = from.y + BOX_H;
    const x2 = to.x + BOX_W / 2;
    const y2 = to.y;
    const bend = Math.max(20, (y2 - y1) / 2);
    return [
      `<g class="edge"><path d="M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}" marker-end="url(#arrow)"/>` +
        `<text x="${(x1 + x2) / 2 + 6}" y="${(y1 + y2) / 2 + 4}">${escapeXml(edge.role)}</text></g>`,
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

/** Rows of nodes: longest-path layering, then one barycentre pass per row. */
function layerNodes(graph: LineageGraph): LineageNode[][] {
  const incoming = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  const outgoing = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) {
    if (!incoming.has(e.to) || !outgoing.has(e.from)) continue;
    incoming.get(e.to)?.push(e.from);
    outgoing.get(e.from)?.push(e.to);
  }
  // Kahn's order; lineage is acyclic, but a damaged store must not hang the page, so anything
  // left over (a cycle) simply stays in row 0.
  const depth = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  const waiting = new Map([...incoming].map(([id, from]) => [id, from.length]));
  const ready = graph.nodes.filter((n) => waiting.get(n.id) === 0).map((n) => n.id);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    for (const next of outgoing.get(id) ?? []) {
      depth.set(next, Math.max(depth.get(next) ?? 0, (depth.get(id) ?? 0) + 1));
      const left = (waiting.get(next) ?? 1) - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  const layers: LineageNode[][] = [];
  for (const node of graph.nodes) {
    const d = depth.get(node.id) ?? 0;
    while (layers.length <= d) layers.push([]);
    layers[d]?.push(node);
  }
  const slot = new Map<string, number>();
  layers.forEach((layer, d) => {
    if (d > 0) {
      const centre = (n: LineageNode) => {
        const fed = (incoming.get(n.id) ?? []).map((p) => slot.get(p)).filter((i) => i !== undefined);
        return fed.length === 0 ? Number.POSITIVE_INFINITY : fed.reduce((a, b) => a + b, 0) / fed.length;
      };
      layer.sort((a, b) => centre(a) - centre(b));
    }
    layer.forEach((n, i) => {
      slot.set(n.id, i);
    });
  });
  return layers;
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
      // The run is the same for most boxes (it is in the title); how long the step took is not.
      return [node.step, `attempt ${node.attempt}, ${node.outcome}`, took(node.startedAt, node.endedAt)];
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

function took(startedAt: string, endedAt: string | undefined): string {
  if (endedAt === undefined) return `started ${startedAt.slice(0, 19).replace('T', ' ')}`;
  const seconds = (Date.parse(endedAt) - Date.parse(startedAt)) / 1000;
  return Number.isFinite(seconds) ? `took ${seconds.toFixed(1)} s` : `ended ${endedAt}`;
}
