import type { AuditLogEntry } from '../../domain/audit/auditLog';
import { canonicalJson } from '../../domain/cache/canonicalJson';
import { type Html, html } from '../html';
import { links } from '../links';
import { when } from './format';

/** The hash-chained audit log, newest first; a damaged slot is shown as damaged, in place. */
export function auditPage(entries: AuditLogEntry[], model: string | undefined, last: number): Html {
  const title =
    model === undefined ? 'Audit log' : html`Audit log of <a href="${links.model(model)}">${model}</a>`;
  if (entries.length === 0)
    return html`<h1>${title}</h1><p>The audit log has no records${model === undefined ? '' : ` about ${model}`} yet.</p>`;
  return html`<h1>${title}</h1>
<p class="muted">The newest ${last} records, newest first. <code>slipway audit verify</code> recomputes the hash chain.</p>
<table class="list audit" data-table="audit"><thead><tr><th>#</th><th>when</th><th>what</th><th>subject</th><th>by</th><th>reason</th><th>details</th><th>hash</th></tr></thead><tbody>
${entries.map((e) => {
  const r = e.record;
  if (e.problem || !r)
    return html`<tr class="damaged"><td>${e.seq}</td><td colspan="7">${e.problem ? `DAMAGED (${e.problem.type}): ${e.problem.detail}` : 'MISSING'}</td></tr>`;
  const subject =
    r.model === undefined
      ? '-'
      : r.version === undefined
        ? html`<a href="${links.model(r.model)}">${r.model}</a>`
        : html`<a href="${links.version(r.model, r.version)}">${r.model}@${r.version}</a>`;
  return html`<tr id="seq-${r.seq}" data-seq="${r.seq}" data-type="${r.type}"><td>${r.seq}</td><td>${when(r.at)}</td><td>${r.type}${decisionMark(r)}</td><td>${subject}</td>
<td>${r.actor}</td><td>${r.reason ?? ''}</td><td><code class="details">${Object.keys(r.details).length ? canonicalJson(r.details) : ''}</code></td>
<td><code title="${r.hash}">${r.hash.slice(0, 12)}</code></td></tr>`;
})}
</tbody></table>`;
}

/**
 * A decision's record marked as it was taken: signed (the key's fingerprint) or unsigned. The marks
 * are what the record says; `slipway audit verify` re-verifies the signatures against the policy in
 * force then, and the version page re-verifies its review.
 */
function decisionMark(r: NonNullable<AuditLogEntry['record']>): Html | string {
  if ((r.type !== 'approval' && r.type !== 'rejection') || r.details.timedOut === true) return '';
  const signature = r.details.signature as { keyFingerprint?: unknown } | undefined;
  return typeof signature?.keyFingerprint === 'string'
    ? html` <span class="badge" data-signed="${signature.keyFingerprint}">signed ${signature.keyFingerprint}</span>`
    : html` <span class="badge muted" data-signed="no">unsigned</span>`;
}
