import { type Html, html } from '../html';
import { links } from '../links';

export interface PageFrame {
  title: string;
  /** Who the console acts as (SLIPWAY_USER): shown on every page, used for every decision. */
  identity: string;
  active?: 'models' | 'runs' | 'searches' | 'pending' | 'namespaces' | 'audit';
}

/** The page around every view: navigation, who you are, the console's stylesheet and script. */
export function layout(frame: PageFrame, body: Html): Html {
  const nav = (key: PageFrame['active'], href: string, label: string) =>
    html`<a href="${href}"${frame.active === key ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · Slipway</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head><body>
<header><a class="brand" href="${links.home()}">Slipway</a>
<nav>${nav('models', links.home(), 'Models')}${nav('runs', links.runs(), 'Runs')}${nav('searches', links.searches(), 'Searches')}${nav('pending', links.pending(), 'Pending review')}${nav('namespaces', links.namespaces(), 'Namespaces')}${nav('audit', links.audit(), 'Audit log')}</nav>
<span class="who" title="Decisions are made as this user (SLIPWAY_USER)">signed in as <strong data-identity>${frame.identity}</strong></span></header>
<main>${body}</main>
</body></html>
`;
}

/** A page that says what went wrong and what to do, instead of a stack trace. */
export function errorPage(frame: PageFrame, status: number, message: string): Html {
  return layout(
    frame,
    html`<h1>${status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Something went wrong'}</h1>
<p class="error" role="alert" data-error>${message}</p>
<p><a href="${links.home()}">Back to the models</a></p>`,
  );
}
