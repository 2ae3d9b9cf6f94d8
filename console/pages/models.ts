import type { AliasEntry } from '../../domain/registry/aliases';
import { parseModelName } from '../../domain/registry/modelName';
import type { ModelSummary, TrustedVersionRow } from '../data';
import { type Html, html } from '../html';
import { links } from '../links';
import { aliasBadges, gateBadge, pct, trustBadge, when } from './format';

/** Every model this person may see, with its number of versions and where its aliases point. */
export function modelsPage(models: ModelSummary[]): Html {
  if (models.length === 0)
    return html`<h1>Models</h1><p>No models registered yet: <code>slipway demo</code> or <code>slipway run</code> registers one.</p>`;
  return html`<h1>Models</h1>
<table class="list" data-table="models"><thead><tr><th>model</th><th>versions</th><th>aliases</th></tr></thead><tbody>
${models.map(
  (
    m,
  ) => html`<tr data-model="${m.model}"><td><a href="${links.model(m.model)}">${m.model}</a></td><td>${m.versions}</td>
<td>${Object.entries(m.aliases).map(([a, v]) => html`<a class="badge alias" href="${links.version(m.model, v)}">${a} → v${v}</a> `)}</td></tr>`,
)}
</tbody></table>`;
}

/** One model: its versions (newest first) with metrics, gate, review and aliases; then the alias log. */
export function modelPage(name: string, versions: TrustedVersionRow[], aliasLog: AliasEntry[]): Html {
  return html`<h1>${name}</h1>
<p><a href="${links.audit(name)}">Audit log of ${name}</a> · <a href="${links.runs(name)}">Runs of ${name}</a> · <a data-namespace href="${links.namespace(parseModelName(name).namespace)}">Namespace ${parseModelName(name).namespace}: keys and webhooks</a>${
    versions.length >= 2
      ? html` · <a data-compare href="${links.compare(
          versions
            .slice(0, 2)
            .map((v) => `${name}@${v.version}`)
            .reverse(),
        )}">Compare v${versions[1]?.version} with v${versions[0]?.version}</a>`
      : ''
  }</p>
<table class="list" data-table="versions"><thead><tr><th>version</th><th>created</th><th>by</th><th>recall</th><th>FPR</th><th>PR-AUC</th><th>gate</th><th>review</th><th>aliases</th></tr></thead><tbody>
${versions.map(
  (
    v,
  ) => html`<tr data-version="${v.version}"><td><a href="${links.version(name, v.version)}">v${v.version}</a></td>
<td>${when(v.metadata.createdAt)}</td><td>${v.metadata.createdBy}</td>
<td>${v.metadata.metrics ? v.metadata.metrics.recall.toFixed(3) : 'not evaluated'}</td>
<td>${v.metadata.metrics ? pct(v.metadata.metrics.fpr) : '-'}</td>
<td>${v.metadata.metrics ? v.metadata.metrics.prAuc.toFixed(3) : '-'}</td>
<td>${gateBadge(v.metadata)}</td>
<td data-review>${v.review ? html`${v.review.decision} by ${v.review.approver} ${trustBadge(v.trust)}` : '-'}</td>
<td data-aliases>${aliasBadges(v.aliases)}</td></tr>`,
)}
</tbody></table>
<h2>Alias moves</h2>
${
  aliasLog.length === 0
    ? html`<p class="muted">No alias has pointed at a version of ${name} yet.</p>`
    : html`<table class="list" data-table="alias-log"><thead><tr><th>#</th><th>when</th><th>alias</th><th>move</th><th>by</th><th>reason</th></tr></thead><tbody>
${aliasLog.map(
  (e) => html`<tr><td>${e.seq}</td><td>${when(e.at)}</td><td>${e.alias}</td>
<td>${e.action}: ${e.previous === null ? 'none' : `v${e.previous}`} → v${e.version}</td><td>${e.actor}</td><td>${e.reason}</td></tr>`,
)}</tbody></table>`
}`;
}
