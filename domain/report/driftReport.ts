import { type DatasetDrift, driftVerdict, type FeatureDriftWithHistograms } from '../validation/datasetDrift';
import { escapeXml } from './svgCharts';

const W = 320;
const H = 140;
const PAD = { left: 8, right: 8, top: 8, bottom: 22 };

const num = (v: number) =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toFixed(3)));

/**
 * Reference and current histograms overlaid as shares of their rows (so samples of different
 * sizes compare), in plain SVG with no script.
 */
function overlaidHistogram(f: FeatureDriftWithHistograms): string {
  const { reference, current } = f.overlay;
  // Numeric: the range under the bins; categorical: the first and last category shown (most frequent first).
  const [loText, hiText] =
    f.kind === 'numeric'
      ? [num(f.overlay.edges[0] ?? 0), num(f.overlay.edges[f.overlay.edges.length - 1] ?? 0)]
      : [f.overlay.categories[0] ?? '', f.overlay.categories[f.overlay.categories.length - 1] ?? ''];
  const bins = reference.length;
  const refTotal = reference.reduce((a, b) => a + b, 0) || 1;
  const curTotal = current.reduce((a, b) => a + b, 0) || 1;
  const shares = (counts: number[], total: number) => counts.map((c) => c / total);
  const r = shares(reference, refTotal);
  const c = shares(current, curTotal);
  const top = Math.max(...r, ...c, 1e-12);
  const bw = (W - PAD.left - PAD.right) / Math.max(1, bins);
  const y = (s: number) => H - PAD.bottom - (s / top) * (H - PAD.top - PAD.bottom);
  const bars = (values: number[], cls: string) =>
    values
      .map(
        (s, i) =>
          `<rect class="${cls}" x="${(PAD.left + i * bw).toFixed(1)}" y="${y(s).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - PAD.bottom - y(s)).toFixed(1)}"/>`,
      )
      .join('');
  return (
    `<svg role="img" data-chart="drift-${escapeXml(f.feature)}" viewBox="0 0 ${W} ${H}">` +
    `<title>${escapeXml(`${f.feature}: reference (grey) and current (orange) shares of rows`)}</title>` +
    bars(r, 'ref') +
    bars(c, 'cur') +
    `<text x="${PAD.left}" y="${H - 6}">${escapeXml(loText)}</text>` +
    `<text x="${W - PAD.right}" y="${H - 6}" text-anchor="end">${escapeXml(hiText)}</text>` +
    '</svg>'
  );
}

/** KS D of a numeric feature; the chi-square test's p-value of a categorical one. */
function secondFigure(f: FeatureDriftWithHistograms): string {
  return f.kind === 'numeric' ? `KS ${num(f.ks)}` : `chi2 p ${num(f.pValue)}`;
}

/** The drift report: one self-contained HTML page (a table, then a histogram per feature, drifted first). */
export function renderDriftReport(input: {
  model: string;
  version: number;
  referenceLabel: string;
  currentLabel: string;
  drift: DatasetDrift;
}): string {
  const { drift } = input;
  const t = drift.thresholds;
  const rows = drift.features
    .map(
      (f) =>
        `<tr class="${f.level}"><td>${escapeXml(f.feature)}</td><td>${num(f.psi)}</td><td>${secondFigure(f)}</td>` +
        (f.kind === 'numeric'
          ? `<td>${num(f.referenceMean)}</td><td>${num(f.currentMean)}</td>`
          : `<td colspan="2">categorical: ${f.overlay.categories.length - 1} most frequent shown</td>`) +
        `<td>${f.level}</td><td>${escapeXml(f.reason)}</td></tr>`,
    )
    .join('\n');
  const ordered = [...drift.features].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi);
  const charts = ordered
    .map(
      (f) =>
        `<figure class="${f.level}"><figcaption>${escapeXml(f.feature)}: PSI ${num(f.psi)}, ${secondFigure(f)}${f.drifted ? ' (drifted)' : ''}</figcaption>${overlaidHistogram(f)}</figure>`,
    )
    .join('\n');
  const verdict = driftVerdict(drift);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeXml(`Drift of ${input.model} v${input.version}`)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}
tr.drifted td{background:#fde2e1}tr.moderate td{background:#fff5d6}
figure{display:inline-block;margin:.5rem;width:${W}px}figure.drifted figcaption{color:#b00;font-weight:600}
svg{width:${W}px;height:${H}px}rect.ref{fill:#888;opacity:.55}rect.cur{fill:#e67e22;opacity:.55}
svg text{font-size:10px;fill:#555}
</style></head><body>
<h1>${escapeXml(input.model)} v${input.version}: drift</h1>
<p class="meta">reference: ${escapeXml(input.referenceLabel)} (${drift.referenceRows} rows) · current: ${escapeXml(input.currentLabel)} (${drift.currentRows} rows)</p>
<p class="verdict" data-drifted="${drift.drifted.length}">${escapeXml(verdict)}</p>
<p>Drifted when PSI &ge; ${t.psiDrift} (bins at the reference's deciles) or KS D &gt; max(${t.ksMin}, critical value at &alpha; = 0.001), a categorical one on PSI over its categories (chi-square p shown); moderate when PSI &ge; ${t.psiWarn}; not judged below ${t.minRows} rows.</p>
<table><thead><tr><th>feature</th><th>PSI</th><th>KS D / chi2 p</th><th>mean (ref)</th><th>mean (cur)</th><th>level</th><th>why</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Histograms (grey: reference, orange: current; share of rows)</h2>
${charts}
</body></html>
`;
}
