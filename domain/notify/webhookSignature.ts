import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How a webhook request proves it came from this Slipway and was not replayed, in the manner of
 * Stripe's and Slack's: the signed string is `<timestamp>.<body>` (the Unix time in seconds of the
 * sending attempt, a dot, the exact request body bytes), the signature HMAC-SHA256 over it with the
 * shared secret, sent hex-encoded as `v1=<hex>`. A receiver recomputes it over the raw body (before
 * any JSON parsing), compares in constant time, refuses a timestamp further than five minutes from
 * its clock (a captured request cannot be replayed later), and keeps the event ids it has handled
 * for at least that long (a retry after a lost response carries the same id).
 */
export const SIGNATURE_HEADER = 'slipway-signature';
export const TIMESTAMP_HEADER = 'slipway-timestamp';
export const EVENT_ID_HEADER = 'slipway-event-id';
export const EVENT_TYPE_HEADER = 'slipway-event-type';
/** How far a receiver should let the timestamp stray from its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function webhookSignature(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}

/** The headers of one attempt, the signature made now (each retry signs with its own timestamp). */
export function signedHeaders(
  secret: string,
  body: string,
  event: { id: string; type: string },
  nowMs: number,
): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
    [EVENT_ID_HEADER]: event.id,
    [EVENT_TYPE_HEADER]: event.type,
  };
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; problem: string };

/**
 * What a receiver does (the test receiver uses it; it is short enough to copy): the timestamp is
 * recent, and one of the `v1=` signatures in the header (several while a secret is rotated) matches.
 */
export function verifyWebhookSignature(options: {
  secret: string;
  body: string | Buffer;
  signatureHeader: string | undefined;
  timestampHeader: string | undefined;
  nowMs: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { secret, body, signatureHeader, timestampHeader } = options;
  if (!signatureHeader || !timestampHeader) {
    return { ok: false, problem: `missing ${signatureHeader ? TIMESTAMP_HEADER : SIGNATURE_HEADER} header` };
  }
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, problem: 'the timestamp is not a Unix time' };
  const timestamp = Number(timestampHeader);
  const skew = Math.abs(options.nowMs / 1000 - timestamp);
  if (skew > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { ok: false, problem: `the timestamp is ${Math.round(skew)} s away from now (a replay?)` };
  }
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const matches = signatureHeader
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
  return matches ? { ok: true, timestamp } : { ok: false, problem: 'the signature does not match' };
}
