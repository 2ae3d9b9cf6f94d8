import type { VersionDetail } from '../data';
import { type Html, html, raw } from '../html';
import { renderLineageSvg } from '../lineageSvg';
import { links, type TemporalUiLinks } from '../links';
import { aliasBadges, gateBadge, maybeLink, modelSignatureBadge, pct, trustBadge, when } from './format';

/**
 * One version: its facts, metrics and gate checks, the review, the evaluation report (the stored
 * HTML page, framed), the lineage drawn as a graph, the model card and the raw metadata.
 */
export function versionPage(name: string, v: VersionDetail, temporal: TemporalUiLinks): Html {
  const m = v.metadata;
  const facts: Array<[string, Html | string]> = [
    ['created', `${when(m.createdAt)} by ${m.createdBy}`],
    [
      'pipeline run',
      maybeLink(temporal.run(m.workflowId, m.runId), m.workflowId, 'open the run in the Temporal Web UI'),
    ],
    ['source', m.sourceUri],
    ['target', m.target],
    ['features', `${m.features.length}: ${m.features.join(', ')}`],
    ['threshold', String(m.threshold)],
    ['backend', m.backend],
    ...(m.training
      ? ([
          [
            'training',
            `${m.training.epochsRun} epochs, ${m.training.split.trainRows} training rows, ${m.training.split.testRows} held out`,
          ],
        ] as Array<[string, string]>)
      : []),
    ...(m.imported
      ? ([
          [
            'imported',
            `from ${m.imported.originUri} by ${m.imported.importedBy} at ${when(m.imported.importedAt)}`,
          ],
        ] as Array<[string, string]>)
      : []),
    ['ONNX', `${m.onnx.size.bytes} bytes (${m.onnx.size.base64Bytes} as base64, limit ${m.onnx.size.limit})`],
    ['code', m.codeVersion],
  ];
  const metrics = m.metrics
    ? html`<table class="facts" data-table="metrics">${(
        [
          ['recall', m.metrics.recall.toFixed(4)],
          ['false-positive rate', pct(m.metrics.fpr)],
          ['precision', m.metrics.precision.toFixed(4)],
          ['F1', m.metrics.f1.toFixed(4)],
          ['ROC-AUC', m.metrics.rocAuc.toFixed(4)],
          ['PR-AUC', m.metrics.prAuc.toFixed(4)],
          ['TP / FP / TN / FN', `${m.metrics.tp} / ${m.metrics.fp} / ${m.metrics.tn} / ${m.metrics.fn}`],
        ] as Array<[string, string]>
      ).map(([k, val]) => html`<tr><th>${k}</th><td>${val}</td></tr>`)}</table>`
    : html`<p class="muted">Not evaluated (imported without labelled data).</p>`;
  const gate = m.gate
    ? html`<ul class="checks">${m.gate.checks.map(
        (c) => html`<li class="${c.passed ? 'ok' : 'no'}">${c.passed ? '✓' : '✗'} ${c.message}</li>`,
      )}</ul>`
    : html`<p class="muted">Registered before gates existed.</p>`;
  const review = v.review
    ? html`<p data-review="${v.review.decision}"><strong>${v.review.decision}</strong> by ${v.review.approver} at ${when(v.review.at)}: ${v.review.reason} ${trustBadge(v.trust)}</p>
${v.trust ? html`<p class="muted" data-signature-detail>The decision is ${v.trust.detail}.</p>` : ''}`
    : v.pending
      ? html`<p data-review="pending">Waiting for a decision by one of ${v.pending.approvers.join(', ')} (deadline ${when(v.pending.deadline)}): <a href="${links.pending()}">decide on the pending page</a>.</p>`
      : html`<p class="muted">No review recorded.</p>`;
  const report = m.artifacts.report
    ? html`<p><a href="${links.report(name, v.version)}" target="_blank" rel="noopener">Open the report on its own</a></p>
<iframe class="report" src="${links.report(name, v.version)}" title="Evaluation report of ${name} v${v.version}" data-report></iframe>`
    : html`<p class="muted">Registered before reports existed; run the pipeline again for one.</p>`;
  const validation = m.dataValidation
    ? m.dataValidation.anomalies.length === 0
      ? html`<p class="ok" data-validation="pass">✓ No anomaly ${m.dataValidation.champion ? `against the training data of v${m.dataValidation.champion}` : `(${m.dataValidation.note ?? 'nothing to compare with'})`}.</p>`
      : html`<ul class="checks" data-validation="anomalies">${m.dataValidation.anomalies.map(
          (a) => html`<li class="no">✗ [${a.check}, ${a.policy}] ${a.message}</li>`,
        )}</ul>`
    : html`<p class="muted">Registered before data validation existed, or imported.</p>`;
  const monitoring =
    v.monitored.length === 0
      ? html`<p class="muted" data-monitoring="none">No batch scored with <code>apply --monitor</code> yet.</p>`
      : html`<table class="facts" data-table="monitoring"><tr><th>recorded</th><th>rows</th><th>mean score</th><th>predicted +</th><th>drifted</th></tr>${v.monitored.map(
          (b) =>
            html`<tr data-drifted="${b.drifted.length}" data-batch="${b.id}"><td><a href="${links.batch(name, v.version, b.id)}">${when(b.recordedAt)}</a></td><td>${String(b.rows)}</td><td>${b.score.mean.toFixed(4)}</td><td>${pct(b.score.positiveRate)}</td><td class="${b.drifted.length ? 'no' : 'ok'}">${b.drifted.length ? b.drifted.join(', ') : 'none'}</td></tr>`,
        )}</table>`;
  // The version's own signature (ONNX file, .mlmodel, UPLOAD.txt, model card), re-verified on each view.
  const signature = html`<p>${modelSignatureBadge(v.signature)}</p><p class="muted" data-model-signature-detail>${v.signature.detail}.${
    v.signature.state === 'verified' ? ` Files: ${v.signature.files.join(', ')}.` : ''
  }</p>${
    v.signature.state === 'mismatch'
      ? html`<ul class="checks">${v.signature.problems.map((p) => html`<li class="no">✗ ${p}</li>`)}</ul>`
      : ''
  }<p class="muted"><code>slipway verify ${name}@${v.version}</code> checks the same; <code>slipway export mltk</code> writes it beside the files as <code>model.sig</code>.</p>`;
  const lineage =
    'missing' in v.lineage
      ? html`<p class="muted">${v.lineage.missing}</p>`
      : html`<div class="graph" data-lineage>${raw(renderLineageSvg(v.lineage))}</div>`;
  return html`<p class="crumbs"><a href="${links.model(name)}">${name}</a> /</p>
<h1>${name} v${v.version} ${aliasBadges(v.aliases)}</h1>
<section class="cols"><div><h2>Facts</h2><table class="facts">${facts.map(([k, val]) => html`<tr><th>${k}</th><td>${val}</td></tr>`)}</table></div>
<div><h2>Held-out metrics</h2>${metrics}<h2>Metric gate ${gateBadge(m)}</h2>${gate}<h2>Review</h2>${review}<h2>Model signature</h2>${signature}</div></section>
<h2>Data validation</h2>${validation}
<h2>Monitoring</h2>${v.monitored.length ? html`<p class="muted">Open a batch for each feature's histogram against the training data.</p>` : ''}${monitoring}
<h2>Evaluation report</h2>${report}
<h2>Lineage</h2><p class="muted">From the source bytes (left) to this version (right); hover a box for its full sha256, URI and run.</p>${lineage}
<h2>Model card</h2><pre class="card" data-card>${v.card}</pre>
<details><summary>Metadata (JSON)</summary><pre>${JSON.stringify(m, null, 2)}</pre></details>`;
}
