import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsProxy {
  /** 127.0.0.1:PORT, to give as SLIPWAY_TEMPORAL_ADDRESS. */
  address: string;
  /** Connections that completed the handshake with an authorised client certificate. */
  authorised(): number;
  close(): Promise<void>;
}

/**
 * A TLS-terminating proxy in front of the Temporal dev server, which speaks only plain text: it
 * presents `cert`, asks every client for a certificate signed by `clientCa` (mutual TLS), and relays
 * the decrypted HTTP/2 stream to `upstream`, as a cluster's ingress or load balancer does.
 */
export async function startTlsProxy(options: {
  upstream: string;
  cert: string;
  key: string;
  clientCa: string;
}): Promise<TlsProxy> {
  const [host, port] = options.upstream.split(':') as [string, string];
  let authorised = 0;
  const open = new Set<Socket>();
  const server = createServer(
    {
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      ca: readFileSync(options.clientCa),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client: TLSSocket) => {
      if (client.authorized) authorised++;
      const upstream = connect(Number(port), host);
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', () => {}); // refused handshakes are the point of some tests
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    address: `127.0.0.1:${address.port}`,
    authorised: () => authorised,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
