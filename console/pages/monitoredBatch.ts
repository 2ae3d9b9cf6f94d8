import type { ListedBatch } from '../../application/monitor';
import { type Html, html } from '../html';
import { links } from '../links';
import { pct, when } from './format';

const num = (v: number) =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(3);

/**
 * One batch a version scored with `apply --monitor`: what was scored, its score distribution, each
 * feature's drift against the training data (drifted first), and the stored drift report with the
 * two histograms of every feature overlaid, framed like the evaluation report.
 */
export function monitoredBatchPage(name: string, version: number, b: ListedBatch): Html {
  const facts: Array<[string, string]> = [
    ['recorded', `${when(b.recordedAt)} by ${b.recordedBy}`],
    ['input', b.input],
    ['rows', `${b.rows} scored, against ${b.referenceRows} training rows`],
    [
      'scores',
      `${b.score.column}: mean ${b.score.mean.toFixed(4)}, ${pct(b.score.positiveRate)} at or above ${b.score.threshold}`,
    ],
    ['drifted', b.drifted.length === 0 ? 'none' : b.drifted.join(', ')],
  ];
  const features = [...b.features].sort((x, y) => Number(y.drifted) - Number(x.drifted) || y.psi - x.psi);
  const report = b.report
    ? html`<p><a href="${links.batchReport(name, version, b.id)}" target="_blank" rel="noopener">Open the drift report on its own</a></p>
<iframe class="report" src="${links.batchReport(name, version, b.id)}" title="Drift report of the batch ${b.id}" data-drift-report></iframe>`
    : html`<p class="muted" data-drift-report="none">Recorded before drift reports were kept; run <code>slipway drift ${name}@${String(version)} --input ${b.input}</code> for one.</p>`;
  return html`<p class="crumbs"><a href="${links.model(name)}">${name}</a> / <a href="${links.version(name, version)}">v${String(version)}</a> / monitoring /</p>
<h1>${name} v${String(version)}: batch ${b.id}</h1>
<p class="${b.drifted.length ? 'no' : 'ok'}" data-batch-verdict="${String(b.drifted.length)}">${
    b.drifted.length === 0
      ? '✓ No feature drifted from the training data.'
      : `✗ ${b.drifted.length} feature${b.drifted.length === 1 ? '' : 's'} drifted: ${b.drifted.join(', ')}.`
  }</p>
<section class="cols"><div><h2>Batch</h2><table class="facts">${facts.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table></div>
<div><h2>Features</h2><table class="facts" data-table="batch-features"><tr><th>feature</th><th>PSI</th><th>KS D</th><th>mean (train → batch)</th><th>level</th></tr>${features.map(
    (f) =>
      html`<tr data-feature="${f.feature}" data-level="${f.level}"><td>${f.feature}</td><td>${num(f.psi)}</td><td>${f.ks === undefined ? `chi2 p ${num(f.pValue ?? 1)}` : num(f.ks)}</td><td>${f.referenceMean === undefined || f.currentMean === undefined ? 'categorical' : `${num(f.referenceMean)} → ${num(f.currentMean)}`}</td><td class="${f.drifted ? 'no' : 'ok'}" title="${f.reason}">${f.level}</td></tr>`,
  )}</table></div></section>
<h2>Drift report</h2>${report}`;
}
