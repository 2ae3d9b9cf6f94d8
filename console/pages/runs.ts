import { describeCancellation, describeFailure, type RunSummary } from '../../application/runs';
import { type Html, html } from '../html';
import { links, type TemporalUiLinks } from '../links';
import { maybeLink, when } from './format';

/** Every run (of one model, or of all), newest first, whatever its end: the console's runs view. */
export function runsPage(runs: RunSummary[], model: string | undefined, temporal: TemporalUiLinks): Html {
  return html`<h1>Runs${model ? ` of ${model}` : ''}</h1>
${
  runs.length === 0
    ? html`<p class="muted">No runs yet.</p>`
    : html`<table class="list" data-table="runs"><thead><tr><th>run</th><th>model</th><th>started</th><th>duration</th><th>outcome</th><th>version</th><th>PR-AUC</th><th>recall</th><th>cause</th></tr></thead><tbody>
${runs.map(
  (r) => html`<tr data-workflow-id="${r.workflowId}" data-outcome="${r.outcome}">
<td>${maybeLink(temporal.run(r.workflowId, r.runId), r.workflowId, 'open the run in the Temporal Web UI')}</td>
<td>${r.model ? html`<a href="${links.runs(r.model)}">${r.model}</a>` : '-'}</td><td>${when(r.startedAt)}</td>
<td>${r.seconds === undefined ? '-' : `${r.seconds.toFixed(0)} s`}</td><td>${r.outcome}</td>
<td>${r.model && r.version ? html`<a href="${links.version(r.model, r.version)}">v${r.version}</a>` : '-'}</td>
<td>${r.figures?.prAuc?.toFixed(3) ?? '-'}</td><td>${r.figures?.recall?.toFixed(3) ?? '-'}</td>
<td>${r.failure ? describeFailure(r.failure) : r.cancellation ? describeCancellation(r.cancellation) : ''}</td></tr>`,
)}</tbody></table>`
}`;
}
