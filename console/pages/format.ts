import { blockedBy } from '../../domain/gate/metricGate';
import type { ModelVersionMetadata } from '../../domain/registry/metadata';
import { type Html, html } from '../html';

export const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
export const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

/** An external link when the address is known, the text alone otherwise. */
export function maybeLink(href: string | undefined, text: string, title?: string): Html {
  return href === undefined
    ? html`<code>${text}</code>`
    : html`<a href="${href}" target="_blank" rel="noopener" title="${title ?? ''}"><code>${text}</code></a>`;
}

export function gateBadge(metadata: ModelVersionMetadata): Html {
  if (metadata.gate === undefined) return html`<span class="muted">-</span>`;
  return metadata.gate.blessed
    ? html`<span class="badge ok">passed</span>`
    : html`<span class="badge no" title="${blockedBy(metadata.gate.checks)}">blocked</span>`;
}

export function aliasBadges(aliases: readonly string[]): Html {
  return html`${aliases.map((a) => html`<span class="badge alias" data-alias="${a}">${a}</span> `)}`;
}
