import type { VersionComparison } from '../../application/compare';
import type { CurvePoint } from '../../domain/ml/metrics';
import { confusionMatrix, curveChart, importanceBars, type Series } from '../../domain/report/svgCharts';
import { type Html, html, raw } from '../html';
import { links } from '../links';
import { when } from './format';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#8250df', '#bf8700', '#59636e'];
const fixed = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);
const COUNTS = new Set(['tp', 'fp', 'tn', 'fn']);

/**
 * Versions side by side (application/compare.ts): what differs, the metrics with their
 * differences, ROC and PR curves overlaid (on the same rows when every version could be scored
 * on them, else each on its own held-out rows, which the page says), confusion matrices and
 * feature importances.
 */
export function comparePage(c: VersionComparison): Html {
  const refs = c.versions.map((v) => v.ref);
  const same = 'why' in c.sameRows ? undefined : c.sameRows;
  const curvesOf = (i: number): { roc: CurvePoint[]; pr: CurvePoint[] } | undefined => {
    const r = same?.results[i];
    if (r?.comparable) return r.curves;
    return same ? undefined : c.versions[i]?.curves;
  };
  const series = (which: 'roc' | 'pr'): Series[] =>
    c.versions.flatMap((v, i) => {
      const curves = curvesOf(i);
      return curves
        ? [
            {
              name: v.ref,
              points: curves[which].map((p) => ({ x: p.x, y: p.y })),
              color: COLORS[i % COLORS.length] as string,
              dashed: i > 0,
            },
          ]
        : [];
    });
  const roc = curveChart('roc', {
    chart: 'compare-roc',
    title: 'ROC curves overlaid',
    series: series('roc'),
  });
  const pr = curveChart('pr', {
    chart: 'compare-pr',
    title: 'Precision-recall curves overlaid',
    series: series('pr'),
  });
  const curvesNote = same
    ? `Scored on the same rows: ${same.basis.description}, ${same.basis.rows} rows, ${same.basis.positives} positive.`
    : `Each version on its own held-out rows (${'why' in c.sameRows ? c.sameRows.why : ''}).`;
  const withImportance = c.versions.filter((v) => v.importance);
  const topFeatures = [
    ...new Set(withImportance.flatMap((v) => v.importance?.ranking.slice(0, 10).map((f) => f.feature) ?? [])),
  ];
  const importance =
    withImportance.length === 0
      ? html`<p class="muted">No version has a feature importance yet (versions evaluated before issue 29).</p>`
      : raw(
          importanceBars({
            chart: 'compare-importance',
            title: 'Permutation importance, each version on its own held-out rows',
            features: topFeatures,
            series: c.versions.flatMap((v, i) =>
              v.importance
                ? [
                    {
                      name: v.ref,
                      color: COLORS[i % COLORS.length] as string,
                      values: new Map(v.importance.ranking.map((f) => [f.feature, f])),
                    },
                  ]
                : [],
            ),
          }),
        );
  return html`<h1>Compare ${refs.join(' · ')}</h1>
<table class="list" data-table="compare-versions"><thead><tr><th>version</th><th>created</th><th>by</th><th>code</th><th>source</th><th>snapshot</th></tr></thead><tbody>
${c.versions.map(
  (
    v,
  ) => html`<tr data-ref="${v.ref}"><td><a href="${links.version(v.name, v.version)}">${v.ref}</a>${v.via ? ` (${v.via})` : ''}</td>
<td>${when(v.createdAt)}</td><td>${v.createdBy}</td><td><code>${v.codeVersion}</code></td><td><code>${v.sourceUri}</code></td>
<td><code>${v.datasetSha256?.slice(0, 12) ?? '-'}</code>${v.data ? ` · ${v.data.rows} rows` : ''}</td></tr>`,
)}</tbody></table>
<h2>Settings that differ</h2>
${
  c.settings.length === 0
    ? html`<p class="muted" data-settings="same">The same settings and code.</p>`
    : html`<table class="list" data-table="compare-settings"><thead><tr><th>setting</th>${refs.map((r) => html`<th>${r}</th>`)}</tr></thead><tbody>
${c.settings.map((d) => html`<tr data-setting="${d.key}"><td><code>${d.key}</code></td>${d.values.map((v) => html`<td>${String(v)}</td>`)}</tr>`)}</tbody></table>`
}
<h2>Data</h2>
<p data-data>${c.data.sameSnapshot ? 'The same data snapshot.' : 'Different data snapshots.'} ${
    c.data.sameSchema
      ? 'The same schema (features, order and target).'
      : c.data.schema
          .filter((s) => s.missing.length || s.added.length || s.orderChanged)
          .map(
            (s) =>
              `${s.ref}: ${[
                s.missing.length ? `lacks ${s.missing.join(', ')}` : '',
                s.added.length ? `adds ${s.added.join(', ')}` : '',
                s.orderChanged ? 'features reordered' : '',
              ]
                .filter(Boolean)
                .join(', ')}. `,
          )
          .join('')
  }</p>
<h2>Metrics</h2>
<table class="list" data-table="compare-metrics"><thead><tr><th>metric</th>${refs.map((r, i) => (i === 0 ? html`<th>${r}</th>` : html`<th>${r}</th><th>difference</th>`))}</tr></thead><tbody>
${c.metrics.map(
  (m) =>
    html`<tr data-metric="${m.metric}"><td>${m.metric}</td>${m.values.map((v, i) => {
      const digits = COUNTS.has(m.metric) ? 0 : 4;
      const d = m.deltaFromFirst[i];
      return i === 0
        ? html`<td>${fixed(v, digits)}</td>`
        : html`<td>${fixed(v, digits)}</td><td>${d === null || d === undefined ? '-' : `${d >= 0 ? '+' : ''}${d.toFixed(digits)}`}</td>`;
    })}</tr>`,
)}</tbody></table>
<p class="muted">Registered metrics: each version on its own held-out rows.</p>
${
  same
    ? html`<h2>On the same rows</h2><p>${curvesNote}</p>
<table class="list" data-table="compare-same-rows"><thead><tr><th>version</th><th>PR-AUC</th><th>ROC-AUC</th><th>recall</th><th>precision</th><th>FPR</th></tr></thead><tbody>
${same.results.map((r) =>
  r.comparable
    ? html`<tr data-ref="${r.ref}"><td>${r.ref}</td><td>${fixed(r.metrics.prAuc)}</td><td>${fixed(r.metrics.rocAuc)}</td><td>${fixed(r.metrics.recall)}</td><td>${fixed(r.metrics.precision)}</td><td>${fixed(r.metrics.fpr)}</td></tr>`
    : html`<tr data-ref="${r.ref}"><td>${r.ref}</td><td colspan="5">not comparable: ${r.why}</td></tr>`,
)}</tbody></table>`
    : html`<p>${curvesNote}</p>`
}
<h2>Curves</h2>
<div class="grid2" data-curves><div>${raw(pr)}</div><div>${raw(roc)}</div></div>
<h2>Confusion matrices</h2>
<div class="grid2">${c.versions.map((v, i) => {
    const r = same?.results[i];
    const m = r?.comparable ? r.metrics : v.metrics;
    return html`<div data-confusion="${v.ref}"><h3>${v.ref}${r?.comparable ? ' (same rows)' : ''}</h3>${m ? raw(confusionMatrix(m)) : html`<p class="muted">not evaluated</p>`}</div>`;
  })}</div>
<h2>Feature importance</h2>
<div class="grid2" data-importance><div>${importance}</div><div>${importanceTable(c)}</div></div>`;
}

/** The top features of each version, by rank, with mean drop and interval. */
function importanceTable(c: VersionComparison): Html {
  const ranked = c.versions.filter((v) => v.importance);
  if (ranked.length === 0) return html``;
  const depth = Math.min(10, ...ranked.map((v) => v.importance?.ranking.length ?? 0));
  return html`<table class="list" data-table="compare-importance"><thead><tr><th>#</th>${ranked.map((v) => html`<th>${v.ref}</th>`)}</tr></thead><tbody>
${Array.from(
  { length: depth },
  (_, i) =>
    html`<tr><td>${i + 1}</td>${ranked.map((v) => {
      const f = v.importance?.ranking[i];
      return html`<td>${f ? `${f.feature} ${f.mean.toFixed(4)} [${f.low.toFixed(4)}, ${f.high.toFixed(4)}]` : ''}</td>`;
    })}</tr>`,
)}</tbody></table><p class="muted">Mean drop of ${ranked[0]?.importance?.metric === 'prAuc' ? 'PR-AUC' : 'the anomaly score'} when the feature is shuffled, 95 % interval; each version on its own held-out rows.</p>`;
}
