import { describeCancellation, describeFailure } from '../../application/runs';
import type { PendingDecision, StoppedRun } from '../data';
import { type Html, html } from '../html';
import { links, type TemporalUiLinks } from '../links';
import { maybeLink, when } from './format';

/**
 * Runs waiting for a person, each with a reason box and Approve / Reject buttons. The decision is
 * made as the console's user; the workflow's validator (allow-list, four eyes, a reason, one
 * decision) has the last word and its refusal is shown as it says it. A hint says in advance when
 * the user is not on the allow-list or started the run, but the buttons stay: the rule lives in
 * one place, the workflow. Where the namespace requires signed decisions, the hint gives the CLI
 * command instead: the console holds no private key, so its unsigned decision would be refused.
 */
export function pendingPage(runs: PendingDecision[], identity: string, temporal: TemporalUiLinks): Html {
  if (runs.length === 0) return html`<h1>Pending review</h1><p data-empty>Nothing waits for review.</p>`;
  return html`<h1>Pending review</h1>
<p class="muted">You decide as <strong>${identity}</strong>. Your reason goes into the audit log.</p>
<table class="list" data-table="pending"><thead><tr><th>model version</th><th>run</th><th>started by</th><th>approvers</th><th>deadline</th><th>decision</th></tr></thead><tbody>
${runs.map((run) => {
  const hint = !run.approvers.includes(identity)
    ? `You are not on the allow-list (${run.approvers.join(', ')}).`
    : run.requestedBy === identity
      ? 'You started this run, so a second person must review it.'
      : undefined;
  return html`<tr data-workflow-id="${run.workflowId}">
<td><a href="${links.version(run.model, run.version)}">${run.model} v${run.version}</a></td>
<td>${maybeLink(temporal.run(run.workflowId, run.runId), run.workflowId, 'open the run in the Temporal Web UI')}</td>
<td>${run.requestedBy}</td><td>${run.approvers.join(', ')}</td><td>${when(run.deadline)}</td>
<td><form class="decide" data-approve="${links.decide(run.workflowId, 'approve')}" data-reject="${links.decide(run.workflowId, 'reject')}">
<input name="reason" placeholder="reason (for the audit log)" aria-label="reason for ${run.model} v${run.version}" maxlength="4000">
<button type="submit" value="approve">Approve</button> <button type="submit" value="reject" class="secondary">Reject</button>
${hint === undefined ? '' : html`<p class="muted hint">${hint}</p>`}
${run.mustSign ? html`<p class="muted hint" data-must-sign>Its namespace requires signed decisions, which the console cannot make (no private key in the browser): decide with <code>slipway approve ${run.workflowId} --key ~/.ssh/id_ed25519 --reason "..."</code> (or <code>--agent</code>).</p>` : ''}
<p class="outcome" role="status" aria-live="polite" data-outcome></p></form></td></tr>`;
})}
</tbody></table>`;
}

/** Runs that did not finish well, newest first: what failed (type, step, message) or who cancelled and why. */
export function stoppedRunsSection(runs: StoppedRun[], temporal: TemporalUiLinks): Html {
  if (runs.length === 0) return html``;
  return html`<h2>Runs that did not finish</h2>
<table class="list" data-table="stopped"><thead><tr><th>run</th><th>model</th><th>started</th><th>outcome</th><th>cause</th></tr></thead><tbody>
${runs.map(
  (run) => html`<tr data-workflow-id="${run.workflowId}">
<td>${maybeLink(temporal.run(run.workflowId, run.runId), run.workflowId, 'open the run in the Temporal Web UI')}</td>
<td>${run.model ?? '-'}</td><td>${when(run.startedAt)}</td><td>${run.outcome}</td>
<td>${run.failure ? describeFailure(run.failure) : run.cancellation ? describeCancellation(run.cancellation) : run.status.toLowerCase()}</td></tr>`,
)}
</tbody></table>`;
}
