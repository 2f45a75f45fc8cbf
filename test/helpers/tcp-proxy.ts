// A TCP proxy between Keygate and PostgreSQL that a test controls: it forwards bytes both ways until
// told to go silent, then drops them without closing anything (a peer that vanished: a partition, a
// stopped host), which is what a client cannot tell from a slow server.
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /**
   * Connections whose text from the client so far (its first 8 KB: PostgreSQL's startup message with
   * user, database and application_name, then the statements it sent, all in clear) satisfies `match`
   * go silent now or as soon as it does; all of them when no match is given.
   */
  silence(match?: (startup: string) => boolean): void;
  /** New connections are forwarded again (silenced ones stay silent: their protocol state is lost). */
  resume(): void;
  /** Connections open now, with their text from the client so far. */
  connections(): string[];
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
  startup: string;
  silent: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let silenced: ((startup: string) => boolean) | null = null;
  const shouldSilence = (pair: Pair) => silenced !== null && pair.startup !== '' && silenced(pair.startup);

  const server = createServer((client) => {
    const upstream = createConnection(target);
    const pair: Pair = { client, server: upstream, startup: '', silent: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (pair.startup.length < 8_192) pair.startup += chunk.toString('latin1');
      if (!pair.silent && shouldSilence(pair)) pair.silent = true;
      if (!pair.silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.silent && shouldSilence(pair)) pair.silent = true;
      if (!pair.silent) client.write(chunk);
    });
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    via(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    silence(match) {
      silenced = match ?? (() => true);
      for (const pair of pairs) if (shouldSilence(pair)) pair.silent = true;
    },
    resume() {
      silenced = null;
    },
    connections: () => [...pairs].map((pair) => pair.startup),
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
