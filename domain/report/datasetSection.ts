import type { DatasetSummary } from '../data/summary';
import { escapeXml } from './svgCharts';

const num = (v: number) =>
  Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toFixed(3)));

/** A histogram as a 120 x 24 bar strip (bars scaled to the fullest bin), for a table cell. */
function sparkline(counts: number[], name: string): string {
  if (counts.length === 0) return '';
  const top = Math.max(...counts, 1);
  const w = 120 / counts.length;
  const bars = counts
    .map((c, i) => {
      const h = (22 * c) / top;
      return `<rect x="${(i * w).toFixed(1)}" y="${(23 - h).toFixed(1)}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${h.toFixed(1)}"/>`;
    })
    .join('');
  return `<svg class="spark" role="img" data-chart="hist-${escapeXml(name)}" viewBox="0 0 120 24"><title>${escapeXml(`histogram of ${name}`)}</title>${bars}</svg>`;
}

/**
 * The training data's statistics and schema in the evaluation report: per feature its type,
 * missing rate, range, mean, std, median and a histogram; the label rate. Summaries written before
 * profiles existed show what they have (no type, quantiles or histogram).
 */
export function renderDatasetSection(summary: DatasetSummary): string {
  const q = (c: DatasetSummary['columns'][number], p: number) => {
    const hit = c.profile?.quantiles.find((x) => x.p === p);
    return hit ? num(hit.value) : '';
  };
  const rows = summary.columns
    .map(
      (c) =>
        `<tr><td>${escapeXml(c.name)}</td><td>${c.profile?.type ?? ''}</td><td>${c.profile ? `${(100 * c.profile.missingRate).toFixed(1)} %` : ''}</td>` +
        `<td>${num(c.min)}</td><td>${q(c, 0.01)}</td><td>${q(c, 0.5)}</td><td>${q(c, 0.99)}</td><td>${num(c.max)}</td>` +
        `<td>${num(c.mean)}</td><td>${num(c.std)}</td><td>${c.profile ? sparkline(c.profile.histogram.counts, c.name) : ''}</td></tr>`,
    )
    .join('');
  const sample =
    summary.profileSampleRows === undefined
      ? ''
      : summary.profileSampleRows < summary.rows
        ? ` Quantiles and histograms over a uniform sample of ${summary.profileSampleRows} rows.`
        : '';
  const constant =
    summary.constantFeatures.length > 0
      ? ` Constant: ${escapeXml(summary.constantFeatures.join(', '))}.`
      : '';
  return `<section data-section="dataset"><h2>Training data</h2>
<p class="meta">${summary.rows} rows, ${summary.features.length} features; label ${escapeXml(summary.target)}: ${summary.classCounts.positive} positive (${(100 * summary.positiveRate).toFixed(3)} %).${constant}${sample}</p>
<table class="stats"><thead><tr><th>feature</th><th>type</th><th>missing</th><th>min</th><th>p1</th><th>median</th><th>p99</th><th>max</th><th>mean</th><th>std</th><th>histogram</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}
