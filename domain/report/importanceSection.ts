import type { Importance } from '../explain/permutationImportance';
import { escapeXml, importanceBars } from './svgCharts';

/** How each metric's drop reads, for the report and the model card. */
export function describeImportanceMetric(importance: Importance): string {
  return importance.metric === 'prAuc'
    ? `drop in PR-AUC (average precision; ${importance.baseline.toFixed(4)} unshuffled) when the feature is shuffled`
    : 'mean absolute change of the anomaly score per row when the feature is shuffled (no labels to measure a drop against)';
}

/** The report's feature-importance section: a bar per feature with its 95 % interval, and the table. */
export function renderImportanceSection(importance: Importance, shown = 15): string {
  const top = importance.features.slice(0, shown);
  const chart = importanceBars({
    chart: 'importance',
    title: 'Permutation importance on the held-out rows',
    features: top.map((f) => f.feature),
    series: [{ name: 'this run', color: '#1f6feb', values: new Map(top.map((f) => [f.feature, f])) }],
  });
  const rows = importance.features
    .map(
      (f, i) =>
        `<tr><td>${i + 1}</td><td>${escapeXml(f.feature)}</td><td>${f.mean.toFixed(4)}</td><td>[${f.low.toFixed(4)}, ${f.high.toFixed(4)}]</td></tr>`,
    )
    .join('');
  return `<section><h2>Feature importance</h2><p class="meta">Permutation importance: ${escapeXml(describeImportanceMetric(importance))}; ${importance.repeats} shuffles per feature (seed ${importance.seed}), mean and 95 % interval, on ${escapeXml(importance.sampling)} (${importance.rowsUsed} of ${importance.rowsAvailable} rows).${top.length < importance.features.length ? ` The chart shows the top ${top.length}.` : ''}</p>
<div class="grid2"><div>${chart}</div><div><table class="stats"><tr><th>#</th><th>feature</th><th>mean drop</th><th>95 % interval</th></tr>${rows}</table></div></div></section>`;
}
