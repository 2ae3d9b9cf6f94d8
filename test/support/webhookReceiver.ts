import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from '../../domain/notify/webhookSignature';

/** One request the receiver saw, with what it made of it. */
export interface ReceivedRequest {
  path: string;
  eventId: string | undefined;
  body: string;
  /** The signature check's verdict (timestamp within five minutes, HMAC over `<timestamp>.<body>`). */
  signature: 'valid' | string;
  /** What the receiver answered. */
  status: number;
}

/**
 * A webhook receiver as a team would write one: it verifies each request's signature over the raw
 * body, answers 401 to a bad one, and keeps the event ids it has accepted, so a retry after a lost
 * answer is acknowledged without being processed twice. Behaviour per path: `/flaky` fails the
 * first `failures` attempts of every event (503) and then accepts; `/down` never accepts (500).
 */
export async function startWebhookReceiver(secret: string, options: { failures?: number } = {}) {
  const failures = options.failures ?? 2;
  const requests: ReceivedRequest[] = [];
  /** Accepted (processed) events by id: what a receiver acts on, exactly once each. */
  const accepted = new Map<string, { path: string; body: unknown; times: number }>();
  const attemptsSeen = new Map<string, number>();

  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const eventId = req.headers[EVENT_ID_HEADER] as string | undefined;
    const check = verifyWebhookSignature({
      secret,
      body,
      signatureHeader: req.headers[SIGNATURE_HEADER] as string | undefined,
      timestampHeader: req.headers[TIMESTAMP_HEADER] as string | undefined,
      nowMs: Date.now(),
    });
    const path = req.url ?? '/';
    const answer = (status: number) => {
      requests.push({ path, eventId, body, signature: check.ok ? 'valid' : check.problem, status });
      res.writeHead(status).end();
    };
    if (!check.ok || eventId === undefined) return answer(401);
    const key = `${path} ${eventId}`;
    const attempt = (attemptsSeen.get(key) ?? 0) + 1;
    attemptsSeen.set(key, attempt);
    if (path.startsWith('/down')) return answer(500);
    if (path.startsWith('/flaky') && attempt <= failures) return answer(503);
    const seen = accepted.get(key);
    if (seen) seen.times += 1;
    else accepted.set(key, { path, body: JSON.parse(body), times: 1 });
    return answer(200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    requests,
    accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
