// How every baseline server listens: PORT and HOST choose where, keep-alive as long as Keygate's, a
// "listening" line for the harness, and SIGTERM closes it.
import type { Server } from 'node:http';

export function listen(server: Server, defaultPort: number): void {
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT ?? defaultPort), process.env.HOST ?? '127.0.0.1', () => {
    console.log('listening');
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
