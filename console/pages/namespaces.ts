import type { NamespaceOverview, NamespaceSummary } from '../data';
import { type Html, html } from '../html';
import { links } from '../links';
import { when } from './format';

/** The namespaces this person sees models in: whether decisions are signed, webhooks, dead letters. */
export function namespacesPage(namespaces: NamespaceSummary[]): Html {
  return html`<h1>Namespaces</h1>
<p class="muted">A namespace's policy says who decides, whether decisions must be signed and where its notifications go (<code>slipway namespace show &lt;namespace&gt;</code>).</p>
<table class="list" data-table="namespaces"><thead><tr><th>namespace</th><th>models</th><th>policy</th><th>decisions</th><th>webhooks</th><th>undelivered</th></tr></thead><tbody>
${namespaces.map(
  (
    n,
  ) => html`<tr data-namespace="${n.namespace}"><td><a href="${links.namespace(n.namespace)}">${n.namespace}</a></td><td>${n.models}</td>
<td>${n.hasPolicy ? 'yes' : html`<span class="muted">none (open)</span>`}</td>
<td>${n.signaturesRequired ? html`<span class="badge ok">signed only</span>` : 'unsigned allowed'}</td>
<td>${n.webhooks}</td><td class="${n.deadLetters ? 'no' : ''}">${n.deadLetters}</td></tr>`,
)}
</tbody></table>`;
}

/**
 * One namespace: its people and rules, the approvers' keys by fingerprint, its webhooks (where they
 * send, the format and the variable holding the secret, never the secret) and the notifications no
 * attempt delivered, each linked to its audit record (which keeps the whole event, to send by hand).
 */
export function namespacePage(ns: NamespaceOverview): Html {
  const p = ns.policy;
  const policy = p
    ? html`<table class="facts" data-table="policy">${(
        [
          ['admins', p.admins.join(', ')],
          ['members', p.members.join(', ') || '-'],
          ['importers', p.importers.join(', ')],
          ['approvers', p.approvers?.join(', ') ?? '(any the run names)'],
          [
            'decisions',
            html`<span data-decisions="${p.decisions.signaturesRequired ? 'signed' : 'unsigned-allowed'}">${
              p.decisions.signaturesRequired
                ? 'must be signed by a key registered for the approver'
                : p.decisions.allowUnsigned
                  ? 'signed or unsigned (--allow-unsigned); unsigned ones are marked as such'
                  : 'unsigned allowed: no approver keys are registered'
            }</span>`,
          ],
          [
            'protected aliases',
            p.protectedAliases
              .map(
                (a) =>
                  `${a.alias} (${a.movers.length ? a.movers.join(', ') : 'pipeline after approval only'})`,
              )
              .join('; ') || '-',
          ],
          [
            'imports',
            `${p.imports.signatureRequired ? 'signature required' : 'signature optional'}; trusted signers: ${p.imports.trustedSigners.join(', ') || 'none'}`,
          ],
          ['updated', `${when(p.updatedAt)} by ${p.updatedBy}`],
        ] as Array<[string, Html | string]>
      ).map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>`
    : html`<p data-policy="none">Namespace ${ns.namespace} has no policy: anyone may import into it and use its models, and decisions are not signed. <code>slipway namespace set ${ns.namespace} --admins &lt;you&gt;</code> gives it one.</p>`;
  const keys =
    p && p.decisions.keys.length > 0
      ? html`<table class="list" data-table="approver-keys"><thead><tr><th>approver</th><th>registered keys (SHA256 fingerprints)</th></tr></thead><tbody>
${p.decisions.keys.map((k) => html`<tr data-approver="${k.approver}"><td>${k.approver}</td><td>${k.fingerprints.map((f) => html`<code data-fingerprint>${f}</code> `)}</td></tr>`)}
</tbody></table>`
      : html`<p class="muted" data-approver-keys="none">No approver keys are registered.</p>`;
  const hook = (w: NamespaceOverview['webhooks'][number], installation = false) =>
    html`<tr data-webhook="${w.target}"><td><code>${w.target}</code>${installation ? html` <span class="muted">(installation: SLIPWAY_WEBHOOK_URL)</span>` : ''}</td><td>${w.format}</td>
<td data-secret-env>${w.secretEnv ? html`<code>$${w.secretEnv}</code>` : html`<span class="muted">none: requests are not signed</span>`}</td><td>${w.events?.join(', ') ?? 'all events'}</td></tr>`;
  const webhooks =
    ns.webhooks.length === 0 && ns.installationWebhook === undefined
      ? html`<p class="muted" data-webhooks="none">No webhooks: nobody is told of reviews, blocked versions, promotions or drift.</p>`
      : html`<table class="list" data-table="webhooks"><thead><tr><th>sends to</th><th>format</th><th>secret held in (workers' environment)</th><th>events</th></tr></thead><tbody>
${ns.webhooks.map((w) => hook(w))}${ns.installationWebhook ? hook(ns.installationWebhook, true) : ''}
</tbody></table>`;
  const dead =
    ns.deadLetters.length === 0
      ? html`<p class="muted" data-dead-letters="none">Every notification was delivered (no dead letter in the audit log).</p>`
      : html`<table class="list" data-table="dead-letters"><thead><tr><th>#</th><th>when</th><th>event</th><th>about</th><th>webhook</th><th>why it gave up</th><th>last error</th></tr></thead><tbody>
${ns.deadLetters.map(
  (
    d,
  ) => html`<tr data-seq="${d.seq}" data-event-type="${d.eventType}"><td><a href="${links.audit(d.model)}#seq-${d.seq}">${d.seq}</a></td><td>${when(d.at)}</td>
<td>${d.eventType}<br><code class="details">${d.eventId}</code></td>
<td>${d.model === undefined ? '-' : d.version === undefined ? html`<a href="${links.model(d.model)}">${d.model}</a>` : html`<a href="${links.version(d.model, d.version)}">${d.model}@${d.version}</a>`}</td>
<td><code>${d.target}</code></td><td>${d.gaveUp}</td><td>${d.error}</td></tr>`,
)}
</tbody></table>`;
  return html`<p class="crumbs"><a href="${links.namespaces()}">Namespaces</a> /</p>
<h1>Namespace ${ns.namespace}</h1>
<p>${ns.models.length ? html`Models: ${ns.models.map((m, i) => html`${i ? ', ' : ''}<a href="${links.model(m)}">${m}</a>`)}` : html`<span class="muted">No model of this namespace that you may see.</span>`}</p>
<h2>Policy</h2>${policy}
<h2>Approvers' keys</h2>${keys}
<h2>Webhooks</h2><p class="muted">Secrets are never stored: each webhook names the workers' environment variable that holds its HMAC secret. <code>slipway notify test ${ns.namespace}</code> sends a test event to each.</p>${webhooks}
<h2>Undelivered notifications</h2>${ns.deadLetters.length ? html`<p class="muted">Each is a <code>notification-undelivered</code> record of the audit log, which keeps the whole event to send again by hand.</p>` : ''}${dead}`;
}
