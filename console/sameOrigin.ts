import type { MiddlewareHandler } from 'hono';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** The Host header values a console listening on host:port answers to; undefined means any. */
export function allowedHosts(host: string, port: number): Set<string> | undefined {
  if (WILDCARD.has(host)) return undefined;
  if (LOOPBACK.has(host)) return new Set(['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`));
  return new Set([`${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`]);
}

/**
 * Approvals matter, so only this console's own pages may send them:
 *  - every request must name this console in Host (a page elsewhere that rebinds its own DNS name
 *    to 127.0.0.1 sends its own name, and is refused);
 *  - a POST must carry an Origin equal to this console's (browsers always send it on fetch POSTs,
 *    and a page cannot forge it) and a JSON body (a cross-site HTML form cannot send one).
 */
export function sameOriginGuard(hosts: () => Set<string> | undefined): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host') ?? '';
    const allowed = hosts();
    if (allowed !== undefined && !allowed.has(host)) {
      return c.json(
        {
          error: `This console answers to ${[...allowed].join(', ')} only; the request was addressed to "${host}". Open one of those addresses.`,
        },
        421,
      );
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      if (origin !== `http://${host}`) {
        return c.json(
          {
            error:
              `Cross-site request refused: a decision must come from this console's own page (http://${host}), ` +
              `but the request came from ${origin === undefined ? 'a client that sent no Origin' : origin}.`,
          },
          403,
        );
      }
      if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
        return c.json(
          { error: 'Send the decision as JSON (Content-Type: application/json): {"reason": "..."}.' },
          415,
        );
      }
    }
    await next();
  };
}
