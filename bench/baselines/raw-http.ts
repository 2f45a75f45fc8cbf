// The ceiling: node:http answering a fixed JSON body (BENCH_BODY, sized like a currentApiKey answer) to
// every request, with nothing else in the way. PORT and HOST choose where it listens.
import { createServer } from 'node:http';

const body = Buffer.from(process.env.BENCH_BODY ?? '{"data":{"ok":true}}');
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Drain the request body, as a real handler must, then answer.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 4100), process.env.HOST ?? '127.0.0.1', () => {
  console.log('listening');
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
