import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsProxy {
  /** 127.0.0.1:PORT, to give as SLIPWAY_TEMPORAL_ADDRESS. */
  address: string;
  /** Connections that completed the handshake with an authorised client certificate. */
  authorised(): number;
  /** Serial numbers of the client certificates of those connections, in order. */
  serials(): string[];
  /** Refuses a client certificate from now on and cuts the connections made with it (a revocation). */
  revoke(serial: string): void;
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
  const serials: string[] = [];
  const revoked = new Set<string>();
  const open = new Set<Socket>();
  const bySerial = new Map<Socket, string>();
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
      const serial = client.getPeerCertificate().serialNumber;
      if (revoked.has(serial)) {
        client.destroy();
        return;
      }
      if (client.authorized) authorised++;
      serials.push(serial);
      bySerial.set(client, serial);
      const upstream = connect(Number(port), host);
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('close', () => {
          open.delete(s);
          bySerial.delete(s);
        });
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
    serials: () => [...serials],
    revoke(serial: string) {
      revoked.add(serial);
      for (const [socket, s] of bySerial) if (s === serial) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
