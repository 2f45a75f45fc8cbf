// Ports for tests: a free one for a child process to listen on, an in-process server listening on one,
// and raw bytes sent to one.
import type { Server as HttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';

/** A port nothing listens on now (a child process is told to listen on it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface Listening {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** `server` listening on a free port of 127.0.0.1. */
export async function listenOnFreePort(server: Server | HttpServer): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Bytes written straight to a socket; resolves with everything the server sent before closing. */
export function sendRaw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}
