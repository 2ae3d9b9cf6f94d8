import type { ModelSignatureStatus, ReviewTrust } from '../../application/trust';
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

/**
 * How a review's signature is marked wherever a review is shown: `data-signature` says what it is
 * (signed-verified, signed-unregistered, signed-invalid, unsigned-allowed, unsigned-required,
 * deadline), the badge names the key's fingerprint, and the title says it in words.
 */
export function trustBadge(trust: ReviewTrust | undefined): Html {
  if (trust === undefined) return html``;
  const state =
    trust.kind === 'signed'
      ? trust.verified
        ? trust.registered
          ? 'signed-verified'
          : 'signed-unregistered'
        : 'signed-invalid'
      : trust.kind === 'unsigned'
        ? trust.allowed
          ? 'unsigned-allowed'
          : 'unsigned-required'
        : 'deadline';
  const good = state === 'signed-verified' || state === 'unsigned-allowed';
  const text =
    trust.kind === 'signed'
      ? `${trust.verified ? '✓' : '✗'} signed ${trust.fingerprint}`
      : trust.kind === 'unsigned'
        ? trust.allowed
          ? 'unsigned (allowed)'
          : '✗ unsigned'
        : 'deadline';
  return html`<span class="badge ${state === 'deadline' ? 'muted' : good ? 'ok' : 'no'}" data-signature="${state}" title="${trust.detail}">${text}</span>`;
}

/** A version's model signature as a badge, `data-model-signature` its state. */
export function modelSignatureBadge(status: ModelSignatureStatus): Html {
  const text = {
    verified: `✓ signed ${'signer' in status ? status.signer : ''}`,
    mismatch: '✗ files differ from the signature',
    invalid: '✗ signature does not verify',
    unsigned: 'not signed',
    unverifiable: 'signed, not checked here',
  }[status.state];
  const tone =
    status.state === 'verified'
      ? 'ok'
      : status.state === 'unsigned' || status.state === 'unverifiable'
        ? 'muted'
        : 'no';
  return html`<span class="badge ${tone}" data-model-signature="${status.state}" title="${status.detail}">${text}</span>`;
}
