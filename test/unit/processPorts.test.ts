import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, isPortFree, portInUse, waitForFreePort } from '../../infra/processes';

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('ports of a service being (re)started', () => {
  it('reads the port a server could not bind from its error', () => {
    // The embedded Temporal's restart failure seen in CI (its log tail is part of the error).
    const failure =
      'Temporal dev server (127.0.0.1:40111) exited during startup. Last lines of temporal.log:\n' +
      'time=... level=ERROR msg="failed starting UI server" error="listen tcp 127.0.0.1:33511: bind: address already in use"';
    expect(portInUse(failure)).toBe(33511);
    expect(portInUse('Temporal dev server did not become healthy within 60 s')).toBeUndefined();
  });

  it('tells a held port from a free one, and waits (bounded) for a held one to be let go', async () => {
    const port = await freePort();
    const holder = await hold(port);
    expect(await isPortFree(port)).toBe(false);
    const started = Date.now();
    expect(await waitForFreePort(port, 300)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    setTimeout(() => holder.close(), 200);
    expect(await waitForFreePort(port, 5_000)).toBe(true);
    expect(await isPortFree(port)).toBe(true);
  });
});
