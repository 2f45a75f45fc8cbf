// The ceiling: node:http answering a fixed JSON body (BENCH_BODY, sized like a currentApiKey answer) to
// every request, with nothing else in the way. PORT and HOST choose where it listens.
import { createServer } from 'node:http';
import { listen } from './listen.ts';

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
listen(server, 4100);
