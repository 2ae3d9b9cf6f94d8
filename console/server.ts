import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { type Context, Hono } from 'hono';
import { describeError } from '../application/describeError';
import { decideReview, RunNotWaitingError, reviewRefusal } from '../application/reviews';
import type { SlipwayConfig } from '../config/env';
import { AccessError } from '../domain/access/errors';
import { RegistryError } from '../domain/registry/errors';
import { CONSOLE_CSS, CONSOLE_JS } from './assets';
import { ConsoleData } from './data';
import { type Html, html } from './html';
import { links, temporalUiLinks } from './links';
import { auditPage } from './pages/audit';
import { comparePage } from './pages/compare';
import { errorPage, layout, type PageFrame } from './pages/layout';
import { modelPage, modelsPage } from './pages/models';
import { monitoredBatchPage } from './pages/monitoredBatch';
import { namespacePage, namespacesPage } from './pages/namespaces';
import { pendingPage, stoppedRunsSection } from './pages/pending';
import { runsPage } from './pages/runs';
import { searchesPage, searchPage } from './pages/searches';
import { versionPage } from './pages/version';
import { allowedHosts, sameOriginGuard } from './sameOrigin';

/** The console's own log lines go to stderr, beside its requests' errors. */
const log = (message: string) => process.stderr.write(`${message}\n`);

export interface ConsoleOptions {
  config: SlipwayConfig;
  client: Client;
  /** Base address of the Temporal Web UI for links to runs; none: workflow IDs are shown as text. */
  temporalUi?: string;
}

const PAGE_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
// The stored report is a self-contained page with no script: sandboxed, it can do nothing but be read.
const REPORT_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";
const AUDIT_ROWS = 200;

/** Errors a person caused (a wrong name, a model they may not see) and the status that says so. */
function statusOf(err: unknown): 400 | 403 | 404 | 500 {
  if (err instanceof AccessError) return err.type === 'AccessDenied' ? 403 : 400;
  if (err instanceof RegistryError) {
    if (err.type === 'ModelNotFound' || err.type === 'ModelVersionNotFound') return 404;
    if (err.type === 'InvalidModelName' || err.type === 'InvalidModelVersion') return 400;
  }
  return 500;
}

/**
 * The console's routes, for `host` (a function, since the port is known only once listening):
 * pages rendered on the server from the registry, lineage, audit log and Temporal, and one POST
 * per decision, which goes through the same Update as `slipway approve | reject`.
 */
export function createConsoleApp(options: ConsoleOptions, hosts: () => Set<string> | undefined): Hono {
  const data = new ConsoleData(options.config, options.client);
  const temporal = temporalUiLinks(options.temporalUi, options.config.namespace);
  const identity = options.config.identity;
  const app = new Hono();

  const pageHeaders = (c: Context) => {
    c.header('Content-Security-Policy', PAGE_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  };
  const page = (c: Context, frame: Omit<PageFrame, 'identity'>, body: Html) => {
    pageHeaders(c);
    return c.html(layout({ ...frame, identity }, body).text, 200);
  };
  // errorPage is a whole page (layout included): rendered on its own, never as another page's body.
  const failure = (c: Context, status: 400 | 403 | 404 | 500, message: string, title = 'Not found') => {
    pageHeaders(c);
    return c.html(errorPage({ title, identity }, status, message).text, status);
  };

  app.use('*', sameOriginGuard(hosts));
  app.onError((err, c) => {
    const status = statusOf(err);
    if (status === 500) log(`slipway console: ${c.req.method} ${c.req.path}: ${describeError(err)}`);
    const message = status === 500 ? describeError(err) : err.message;
    if (c.req.path.startsWith('/api/')) return c.json({ error: message }, status);
    return failure(c, status, message, status === 404 ? 'Not found' : 'Error');
  });
  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? c.json({ error: `No API at ${c.req.method} ${c.req.path}.` }, 404)
      : failure(
          c,
          404,
          `The console has no page at ${c.req.path}. Its pages are linked at the top: models, runs, searches, pending review and the audit log.`,
        ),
  );

  app.get('/assets/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }),
  );
  app.get('/assets/console.js', (c) =>
    c.body(CONSOLE_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );

  app.get('/', async (c) => page(c, { title: 'Models', active: 'models' }, modelsPage(await data.models())));
  app.get('/models/:name', async (c) => {
    const name = c.req.param('name');
    const { versions, aliasLog } = await data.model(name);
    return page(c, { title: name, active: 'models' }, modelPage(name, versions, aliasLog));
  });
  app.get('/models/:name/versions/:version{[0-9]+}', async (c) => {
    const name = c.req.param('name');
    const version = Number(c.req.param('version'));
    const detail = await data.version(name, version);
    return page(c, { title: `${name} v${version}`, active: 'models' }, versionPage(name, detail, temporal));
  });
  app.get('/models/:name/versions/:version{[0-9]+}/report', async (c) => {
    const name = c.req.param('name');
    const version = Number(c.req.param('version'));
    const report = await data.report(name, version);
    if (report === undefined)
      return c.text(
        `${name} v${version} was registered before reports existed; run the pipeline again for one.`,
        404,
      );
    return c.body(new Uint8Array(report), 200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': REPORT_CSP,
      'X-Content-Type-Options': 'nosniff',
    });
  });
  // A batch scored with `apply --monitor`, and its stored drift report (sandboxed like the evaluation report).
  const batchOf = async (c: Context) => {
    const name = c.req.param('name') as string;
    const version = Number(c.req.param('version'));
    const id = c.req.param('batch') as string;
    return { name, version, id, batch: await data.monitoredBatch(name, version, id) };
  };
  const noBatch = (name: string, version: number, id: string) =>
    `${name} v${version} has no monitored batch ${id}: see its version page for the batches it scored with apply --monitor.`;
  app.get('/models/:name/versions/:version{[0-9]+}/monitoring/:batch', async (c) => {
    const { name, version, id, batch } = await batchOf(c);
    if (batch === undefined) return failure(c, 404, noBatch(name, version, id));
    return page(
      c,
      { title: `${name} v${version} batch ${id}`, active: 'models' },
      monitoredBatchPage(name, version, batch),
    );
  });
  app.get('/models/:name/versions/:version{[0-9]+}/monitoring/:batch/report', async (c) => {
    const { name, version, id, batch } = await batchOf(c);
    const report = batch === undefined ? undefined : await data.monitoredBatchReport(batch);
    if (report === undefined) {
      return c.text(
        batch === undefined
          ? noBatch(name, version, id)
          : `The batch ${id} was recorded before drift reports were kept.`,
        404,
      );
    }
    return c.body(new Uint8Array(report), 200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': REPORT_CSP,
      'X-Content-Type-Options': 'nosniff',
    });
  });
  app.get('/pending', async (c) =>
    page(
      c,
      { title: 'Pending review', active: 'pending' },
      html`${pendingPage(await data.pending(), identity, temporal)}${stoppedRunsSection(await data.stoppedRuns(), temporal)}`,
    ),
  );
  app.get('/runs', async (c) => {
    const model = c.req.query('model') || undefined;
    return page(c, { title: 'Runs', active: 'runs' }, runsPage(await data.runs(model), model, temporal));
  });
  app.get('/searches', async (c) =>
    page(c, { title: 'Searches', active: 'searches' }, searchesPage(await data.searches(), temporal)),
  );
  app.get('/searches/:workflowId', async (c) => {
    const workflowId = c.req.param('workflowId');
    const search = await data.search(workflowId);
    if (search === undefined)
      return failure(
        c,
        404,
        `No search ${workflowId} on this Slipway: ${links.searches()} lists the searches you may see.`,
      );
    return page(c, { title: `Search ${workflowId}`, active: 'searches' }, searchPage(search, temporal));
  });
  app.get('/compare', async (c) => {
    const refs = c.req.queries('v') ?? [];
    if (refs.length < 2)
      return failure(
        c,
        400,
        `Give two or more versions to compare, e.g. ${links.compare(['card-fraud@1', 'card-fraud@2'])} (got ${refs.length}).`,
        'Compare',
      );
    const comparison = await data.compare(refs);
    return page(c, { title: `Compare ${refs.join(', ')}`, active: 'models' }, comparePage(comparison));
  });
  app.get('/namespaces', async (c) =>
    page(c, { title: 'Namespaces', active: 'namespaces' }, namespacesPage(await data.namespaces())),
  );
  app.get('/namespaces/:namespace', async (c) => {
    const ns = await data.namespace(c.req.param('namespace'));
    return page(c, { title: `Namespace ${ns.namespace}`, active: 'namespaces' }, namespacePage(ns));
  });
  app.get('/audit', async (c) => {
    const model = c.req.query('model') || undefined;
    const entries = await data.auditLog({ model, last: AUDIT_ROWS });
    return page(c, { title: 'Audit log', active: 'audit' }, auditPage(entries, model, AUDIT_ROWS));
  });

  app.post('/api/runs/:workflowId/:action{approve|reject}', async (c) => {
    const workflowId = c.req.param('workflowId');
    const action = c.req.param('action') as 'approve' | 'reject';
    const body = (await c.req.json().catch(() => undefined)) as { reason?: unknown } | undefined;
    if (typeof body?.reason !== 'string')
      return c.json({ error: 'Send {"reason": "<why>"} as the request body.' }, 400);
    try {
      // The approver is who the console runs as (SLIPWAY_USER), never a name from the request.
      const decision = await decideReview(options.client, workflowId, action, {
        approver: identity,
        reason: body.reason,
      });
      log(`slipway console: ${workflowId} ${decision.decision} by ${decision.approver} (${decision.reason})`);
      return c.json({ workflowId, ...decision });
    } catch (err) {
      const refused = reviewRefusal(err);
      if (refused !== undefined) return c.json({ error: refused.message }, 409);
      // A finished run refuses a decision like the validator does; an unknown ID is simply not there.
      if (err instanceof RunNotWaitingError) return c.json({ error: err.message }, err.finished ? 409 : 404);
      throw err;
    }
  });
  return app;
}

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free port) and resolves once the console answers. */
export async function startConsole(
  options: ConsoleOptions & { host: string; port: number },
): Promise<RunningConsole> {
  let port = options.port;
  const app = createConsoleApp(options, () => allowedHosts(options.host, port));
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `Port ${options.port} on ${options.host} is taken: pass another with --port <n> (or 0 for any free one).`,
            )
          : err,
      ),
    );
  });
  port = (server.address() as AddressInfo).port;
  const shown =
    options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
