import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { createConsoleApp } from '../../console/server';

/** How often `pattern` occurs in `text`. */
const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, 'g')) ?? []).length;

/**
 * The console's error pages are whole pages of their own: one document (not a page nested in
 * another page's body), saying what was not found, with the navigation and a way back.
 * These routes answer before any call to Temporal, so the client never connects.
 */
describe('console error pages', () => {
  let dir: string;
  let app: Hono;
  let client: Client;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-console-errors-'));
    const config = loadConfig({ ...process.env, SLIPWAY_STATE_DIR: dir, SLIPWAY_ARTIFACTS: undefined });
    client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    app = createConsoleApp({ config, client }, () => undefined);
  });
  afterAll(async () => {
    await client?.connection.close();
    await rm(dir, { recursive: true, force: true });
  });

  const wellFormed = (page: string) => {
    for (const tag of [
      /<!doctype html>/i,
      /<html\b/,
      /<\/html>/,
      /<head>/,
      /<body>/,
      /<\/body>/,
      /<main>/,
      /<header>/,
    ])
      expect(count(page, tag), `${tag} once`).toBe(1);
    expect(page).toContain('<a href="/">Back to the models</a>');
  };

  it('renders an unknown address as one page that names it', async () => {
    const response = await app.request('/no/such/page');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const page = await response.text();
    wellFormed(page);
    expect(page).toContain('<title>Not found · Slipway</title>');
    expect(page).toMatch(/<h1>Not found<\/h1>/);
    expect(page).toContain('The console has no page at /no/such/page.');
  });

  it('escapes the address it names', async () => {
    const page = await (await app.request('/%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text();
    wellFormed(page);
    expect(page).not.toContain('<script>alert');
  });

  it('renders a model that does not exist, and a bad comparison, as one page each', async () => {
    const model = await app.request('/models/no-such-model');
    expect(model.status).toBe(404);
    const modelPage = await model.text();
    wellFormed(modelPage);
    expect(modelPage).toContain('no-such-model');

    const compare = await app.request('/compare?v=a@1');
    expect(compare.status).toBe(400);
    const comparePage = await compare.text();
    wellFormed(comparePage);
    expect(comparePage).toContain('Give two or more versions to compare');
  });

  it('answers an unknown API address in JSON', async () => {
    const response = await app.request('/api/nothing-here');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'No API at GET /api/nothing-here.' });
  });
});
